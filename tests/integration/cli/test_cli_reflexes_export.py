"""``emily reflexes export --wasm DIR`` on a real home (LanceDB): the bundle holds the learned
reflexes and the calibrated threshold, its page answers a training row with that row's label
(under Node, the bundle's own JavaScript), and bad input stops with one line naming the fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

import emily.instinct.wasm as wasm
from emily.cli.app import app
from emily.core import InputError

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()

ANSWER = """
import { readFileSync } from "node:fs";
import { join } from "node:path";
const [bundle, record] = process.argv.slice(2);
const core = await import("data:text/javascript," +
  encodeURIComponent(readFileSync(join(bundle, "reflex_core.js"), "utf8")));
const reflexes = await core.openBundle(async (name) => readFileSync(join(bundle, name)));
const a = reflexes.answer(JSON.parse(record));
console.log(JSON.stringify({ response: a.response, hit: a.hit, similarity: a.similarity }));
"""


def emily(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=True)


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError), result.exception
    message = str(result.exception)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def kernel() -> Path:
    subprocess.run(["bash", str(REPO / "scripts" / "build_wasm.sh")], check=True, timeout=120)
    return wasm.kernel_path()


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    lines = ["size,weight,colour,target"]
    for i in range(60):
        label = ("apple", "melon", "grape")[i % 3]
        base = {"apple": 8.0, "melon": 25.0, "grape": 2.0}[label]
        colour = {"apple": "red", "melon": "green", "grape": "purple"}[label]
        lines.append(
            f"{base + rng.normal(0, 0.5):.3f},{base * 20 + rng.normal(0, 5):.2f},{colour},{label}"
        )
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_export_writes_a_bundle_that_answers_as_learned(
    kernel: Path, tmp_path: Path, train_csv: Path
) -> None:
    learned = emily("learn", str(train_csv), "--label", "target", "--json")
    assert learned.exit_code == 0, learned.output
    summary = json.loads(learned.stdout.strip().splitlines()[-1])
    out = tmp_path / "site"
    result = emily("reflexes", "export", "--wasm", str(out), "--json")
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["reflexes"] == summary["reflexes"] > 10  # equal records are one reflex
    assert {
        "index.html",
        "app.js",
        "reflex_core.js",
        "reflex_kernel.wasm",
        "bundle.json",
        "reflexes.bin",
        "codebooks.bin",
    } <= set(report["files"])
    manifest = json.loads((out / "bundle.json").read_text(encoding="utf-8"))
    assert manifest["n"] == report["reflexes"]
    assert manifest["threshold"] == summary["threshold"]
    assert (out / "reflexes.bin").stat().st_size == manifest["n"] * manifest["width"]
    node = shutil.which("node")
    assert node is not None
    (tmp_path / "answer.mjs").write_text(ANSWER, encoding="utf-8")
    first = train_csv.read_text(encoding="utf-8").splitlines()[1].split(",")
    record = {"size": float(first[0]), "weight": float(first[1]), "colour": first[2]}
    answer = subprocess.run(
        [node, str(tmp_path / "answer.mjs"), str(out), json.dumps(record)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    got = json.loads(answer.stdout)
    assert got == {"response": first[3], "hit": True, "similarity": 1.0}
    again = emily("reflexes", "export", "--wasm", str(out))  # an older bundle is replaced
    assert again.exit_code == 0, again.output
    assert "serve it with" in again.output


def test_export_of_a_home_without_reflexes_says_to_learn_first(
    kernel: Path, tmp_path: Path
) -> None:
    message = one_line_error(emily("reflexes", "export", "--wasm", str(tmp_path / "site")))
    assert "emily learn" in message
    assert not (tmp_path / "site").exists()


def test_export_refuses_a_file_as_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "bundle.txt"
    target.write_text("keep me", encoding="utf-8")
    message = one_line_error(emily("reflexes", "export", "--wasm", str(target)))
    assert "is a file" in message
    assert target.read_text(encoding="utf-8") == "keep me"


def test_export_without_the_built_kernel_says_how_to_build_it(
    tmp_path: Path, train_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert emily("learn", str(train_csv), "--label", "target").exit_code == 0
    monkeypatch.setattr(wasm, "kernel_path", lambda: tmp_path / "absent" / wasm.KERNEL)
    message = one_line_error(emily("reflexes", "export", "--wasm", str(tmp_path / "site")))
    assert "bash scripts/build_wasm.sh" in message
    assert not (tmp_path / "site").exists()


def test_the_reflexes_group_has_help_without_a_home() -> None:
    result = emily("reflexes", "export", "--help")
    assert result.exit_code == 0
    assert "--wasm" in result.output
    assert os.environ["EMILY_HOME"]  # the isolated home of tests/conftest.py, untouched
