"""``emily publish``: send a file of stimuli over the bus to a runtime that listens for them.

Zenoh and the stimulus readers are imported when the command runs, not by ``emily --help``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from emily.cli.run import open_source
from emily.core import InputError, system_clock

console = Console()
PUBLISH_CHUNK = 64


def publish(
    source: Annotated[
        str, typer.Argument(help="A .jsonl or .csv file of stimuli, or - for standard input.")
    ],
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, help="Pace at this many stimuli per second (default: no pacing)."),
    ] = None,
    wait: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for a runtime to subscribe.")
    ] = 30.0,
) -> None:
    """Publish stimuli on the bus for a runtime started with `emily run --bus-in`.

    Stimuli are validated here first (a bad line stops before anything is sent), sent as JSON
    lines on emily/stimuli/in, and followed by an end marker that ends the runtime's stream.
    """
    from emily.core.settings import load_settings
    from emily.runtime import STIMULI_END_KEY, STIMULI_KEY, ResilientPublisher, ZenohBus

    settings = load_settings()
    clock = system_clock()
    stream, _ = open_source(source, False, settings.seed, None)
    stimuli = list(stream)
    with ZenohBus(settings.zenoh_endpoint, "connect") as session:
        outbox = ResilientPublisher(session, f"{STIMULI_KEY}/in")
        deadline = clock.monotonic() + wait
        while not session.has_subscribers(f"{STIMULI_KEY}/in"):
            if clock.monotonic() > deadline:
                raise InputError(
                    f"no runtime subscribed on {settings.zenoh_endpoint} within {wait:g} s; "
                    "start one with `emily run --bus-in` first"
                )
            clock.sleep(0.05)
        for i in range(0, len(stimuli), PUBLISH_CHUNK):
            chunk = stimuli[i : i + PUBLISH_CHUNK]
            outbox.publish("\n".join(s.model_dump_json() for s in chunk).encode())
            if rate:
                clock.sleep(len(chunk) / rate)
        while outbox.pending and clock.monotonic() <= deadline + wait:
            outbox.poll()
            clock.sleep(0.05)
        session.publish(STIMULI_END_KEY, str(len(stimuli)).encode())
        clock.sleep(0.2)  # let the last messages leave before the session closes
    console.print(f"published {len(stimuli):,} stimuli on {settings.zenoh_endpoint}")
