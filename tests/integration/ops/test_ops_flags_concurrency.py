"""Concurrent flag writes lose nothing: threads through the real API and two other processes.

``PUT /flags/{name}`` handlers run on FastAPI's thread pool and ``emily flags set`` runs in its
own process, all rewriting the one ``EMILY_HOME/flags.yaml``. Each write is a read-modify-write
of the whole file, so without a lock held across threads and processes the last writer wins and
the other new flags vanish although every writer was told "done".
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.ops.flags import GFLOWNET_V2_FLAG, FlagStore, flags_path
from emily.runtime.api import create_app
from emily.runtime.loop import TriuneRuntime

DIM = 256
TOKEN = "flags-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API_FLAGS = 40
PROCESS_FLAGS = 30

# A writer process: waits for "go" on stdin so both start together, then sets its flags one by
# one through FlagStore.set_variant, the code `emily flags set` runs.
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from emily.ops.flags import FlagStore

    path, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        FlagStore(path, check_interval_s=0.0).set_variant(f"{prefix}{i}", "on")
    print("done", flush=True)
    """
)


def _runtime(clock: ManualClock) -> TriuneRuntime:
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    return TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )


def _put_all(client: TestClient, names: list[str]) -> list[int]:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        responses = pool.map(
            lambda name: client.put(f"/flags/{name}", json={"variant": "on"}, headers=AUTH),
            names,
        )
        return [r.status_code for r in responses]


def test_concurrent_puts_and_two_writer_processes_keep_every_flag(tmp_path: Path) -> None:
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    path = flags_path(settings)
    clock = ManualClock()
    runtime = _runtime(clock)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), prefix, str(PROCESS_FLAGS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in ("cli_a_", "cli_b_")
    ]
    try:
        for writer in writers:  # both imported emily and wait at the start line
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "ready"
        with TestClient(create_app(runtime, settings, clock=clock, token=TOKEN)) as client:
            for writer in writers:
                assert writer.stdin is not None
                writer.stdin.write("go\n")
                writer.stdin.flush()
            api_names = [f"api_{i}" for i in range(API_FLAGS)]
            statuses = _put_all(client, api_names)
            outputs = [writer.communicate(timeout=600)[0] for writer in writers]
            assert statuses == [200] * API_FLAGS
            assert [w.returncode for w in writers] == [0, 0], outputs
            clock.advance(60.0)  # past the store's check interval: it re-reads the file
            served = set(client.get("/flags", headers=AUTH).json()["flags"])
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        runtime.close()
    expected = {
        GFLOWNET_V2_FLAG,
        *api_names,
        *(f"{p}{i}" for p in ("cli_a_", "cli_b_") for i in range(PROCESS_FLAGS)),
    }
    on_disk = set(FlagStore(path, check_interval_s=0.0).flags().flags)
    assert on_disk == expected, f"lost: {sorted(expected - on_disk)}"
    assert served == expected
