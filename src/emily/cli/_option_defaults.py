"""Option types and defaults that ``emily``'s help shows, apart from the code that uses them.

Why a module of its own: Typer reads every command's annotations and defaults when the app is
built, so whatever they name is imported by ``emily --help`` and ``emily version`` too. The
modules that define these names (the runtime, the instinct tier) import NumPy, PyArrow and
LanceDB, which made every ``emily`` start take seconds (issue #19 item 3). These copies hold
only the values; ``tests/unit/cli/test_cli_startup.py`` checks each equals its original.
"""

from __future__ import annotations

from typing import Literal

ModelKind = Literal["exemplar", "prototype"]
"""The reflex models ``emily learn`` trains (``emily.runtime.reflex_models.ModelKind``)."""

OnError = Literal["stop", "skip"]
"""What a bad input line does (``emily.runtime.validate_input.OnError``)."""

DEFAULT_FILE_RATE = 100.0
"""Stimuli per second of stream time for a file without timestamps
(``emily.runtime.timeline.DEFAULT_FILE_RATE``)."""

DEFAULT_PER_CLASS = 8
"""Prototypes per label ``emily learn --model prototype`` keeps by default
(``emily.instinct.DEFAULT_PER_CLASS``)."""

LABEL = "label"
"""The label column a file is read with when nothing names another
(``emily.runtime.stimuli.LABEL``)."""

DEFAULT_PROJECT = "emily"
"""The Feast project ``emily features`` and ``emily init`` use by default
(``emily.ops.features.DEFAULT_PROJECT``)."""
