"""The developer-environment files cannot run here (no Nix, Docker or GitHub), so at least they
must parse and agree with the project's single source of truth: the README's two commands."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def test_readme_first_screen_has_the_two_commands_and_ci_calls_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci
    assert "CI=true" in ci


def test_pre_commit_runs_the_house_rules() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hook_ids = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {
        "ruff",
        "ruff-format",
        "mypy",
        "detect-secrets",
        "sovereign-model-compliance",
        "temporal-lock",
    } <= hook_ids
    assert (ROOT / ".secrets.baseline").is_file()


def test_github_workflow_covers_pythons_and_layers() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]
    assert matrix["python-version"] == ["3.11", "3.12", "3.13"]
    layers = {
        p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name[0] not in "_."
    }  # every layer folder of the suite gets a job
    assert layers >= {"unit", "integration", "e2e", "browser"}
    assert set(matrix["layer"]) == layers
    cache = next(s for s in workflow["jobs"]["test"]["steps"] if "cache" in s.get("uses", ""))
    assert "requirements.lock" in cache["with"]["key"]


def test_devcontainer_and_dockerfile_use_the_setup_script_and_lock() -> None:
    devcontainer = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert "scripts/setup.sh" in devcontainer["postCreateCommand"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, re.MULTILINE)
    assert stages == ["base", "deps", "dev", "runtime"]
    # The dependency layer copies only what resolves dependencies, before the source.
    deps_stage = dockerfile.split("AS deps")[1].split("FROM ")[0]
    assert "requirements.lock" in deps_stage
    assert "COPY src" not in deps_stage
    flake = (ROOT / "flake.nix").read_text()
    assert "python311" in flake
    assert "scripts/setup.sh" in flake


def test_lock_pins_torch_and_every_line_is_exact() -> None:
    lines = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all("==" in line for line in lines), [ln for ln in lines if "==" not in ln]
    assert any(re.fullmatch(r"torch==2\.13\.0(\+cpu)?", line) for line in lines)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]


def test_every_workflow_job_that_runs_engine_tests_has_the_services() -> None:
    """Integration and chaos tests fail (by design) without PostgreSQL and Redis."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    for name in ("test", "all-layers"):
        services = workflow["jobs"][name].get("services", {})
        assert {"postgres", "redis"} <= set(services), f"job {name} lacks its services"
        assert services["postgres"]["env"]["POSTGRES_DB"] == "test"
