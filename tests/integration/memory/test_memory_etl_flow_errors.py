"""Bad input that reaches the Prefect flow itself (the file changed after the check) still ends
in one line: Prefect's failed-run log keeps its summary but not the traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from emily.core import InputError, ManualClock
from emily.core.settings import load_settings
from emily.memory import etl

pytestmark = pytest.mark.slow


class _Formatted(logging.Handler):
    """Every record as the log would print it, traceback included when the record carries one.

    Captured on the logger itself: Prefect's own handlers may hold a stream other tests set up,
    so reading stderr would see nothing and prove nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_input_error_inside_the_flow_prints_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1')
    flow = etl.build_flow(load_settings(), ManualClock())  # no check(): as if the file changed
    seen = _Formatted()
    logger = logging.getLogger("prefect.flow_runs")
    logger.addHandler(seen)
    try:
        state = flow(str(bad), return_state=True)
    finally:
        logger.removeHandler(seen)
        etl.stop_prefect_workers()  # as run_ingest does: no worker pinging on behind the test
    with pytest.raises(InputError, match="is not valid JSON"):
        state.result()
    failed = [line for line in seen.lines if "Encountered exception during execution" in line]
    assert failed, seen.lines  # Prefect still logs the failed run ...
    assert all("Traceback" not in line for line in failed)  # ... without the traceback
