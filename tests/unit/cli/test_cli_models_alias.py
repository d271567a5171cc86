"""`emily models promote --alias canary` names the rollout command instead of a bare refusal."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from emily.cli.app import app
from emily.core import InputError


@pytest.mark.parametrize("kind", ["canary", "shadow", "ab", "bluegreen"])
def test_a_rollout_given_as_an_alias_points_to_its_command(kind: str) -> None:
    result = CliRunner().invoke(
        app, ["models", "promote", "emily-gflownet", "2", "--alias", kind, "--why", "try it"]
    )
    assert isinstance(result.exception, InputError), result.output  # main() prints it, exit 2
    assert f"{kind} is a rollout, not an alias" in str(result.exception)
    assert f"emily models {kind} start NAME 2" in str(result.exception)
