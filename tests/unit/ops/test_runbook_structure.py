"""Every alert names a runbook that exists, and every runbook has the four sections."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emily.ops.knowledge import REQUIRED_SECTIONS, runbook_commands, runbook_sections

ROOT = Path(__file__).resolve().parents[3]
RUNBOOKS = ROOT / "ops" / "runbooks"
RULES = ROOT / "infra" / "prometheus" / "rules" / "emily.rules.yml"
FAILURES = (  # the failures the seed names, each with its own runbook
    "bus-router-down.md",
    "graph-store-down.md",
    "tracking-database-down.md",
    "disk-full.md",
    "latency-over-budget.md",
    "phase-drift.md",
)


def _alerts() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {
        rule["alert"]: rule["annotations"]["runbook"]
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    }


def test_rules_have_alerts() -> None:
    assert len(_alerts()) >= 7


@pytest.mark.parametrize("alert", sorted(_alerts()))
def test_alert_names_an_existing_runbook(alert: str) -> None:
    path = ROOT / _alerts()[alert]
    assert path.parent == RUNBOOKS
    assert path.is_file(), f"{alert}: runbook {path} is missing"
    assert alert in path.read_text(), f"{path.name} does not name the alert {alert}"


@pytest.mark.parametrize("name", FAILURES)
def test_each_named_failure_has_a_runbook(name: str) -> None:
    assert (RUNBOOKS / name).is_file()


@pytest.mark.parametrize("path", sorted(RUNBOOKS.glob("*.md")), ids=lambda p: p.name)
def test_runbook_has_the_four_sections_in_order(path: Path) -> None:
    assert tuple(runbook_sections(path)) == REQUIRED_SECTIONS


@pytest.mark.parametrize("path", sorted(RUNBOOKS.glob("*.md")), ids=lambda p: p.name)
def test_runbook_diagnoses_with_at_least_one_command(path: Path) -> None:
    assert runbook_commands(path), f"{path.name} has no ```bash command"


def test_parser_reads_documented_exit_codes(tmp_path: Path) -> None:
    page = tmp_path / "r.md"
    page.write_text(
        "## Diagnosis\n```bash\n# a comment\nemily doctor  # exits 1 when a check fails\n\n"
        "df -h\n```\n```python\nnot_a_command()\n```\n"
    )
    commands = runbook_commands(page)
    assert [c.command for c in commands] == ["emily doctor  # exits 1 when a check fails", "df -h"]
    assert [c.allowed_exits for c in commands] == [(0, 1), (0,)]
