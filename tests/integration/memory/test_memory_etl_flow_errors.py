"""Bad input that reaches the Prefect flow itself (the file changed after the check) still ends
in one line: Prefect's failed-run log keeps its summary but not the traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import InputError, ManualClock
from emily.core.settings import load_settings
from emily.memory import etl

pytestmark = pytest.mark.slow


def test_input_error_inside_the_flow_prints_no_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1')
    flow = etl.build_flow(load_settings(), ManualClock())  # no check(): as if the file changed
    state = flow(str(bad), return_state=True)
    with pytest.raises(InputError, match="is not valid JSON"):
        state.result()
    logged = capfd.readouterr()
    assert "Traceback" not in logged.err + logged.out
    assert "Encountered exception during execution" in logged.err + logged.out  # still logged
