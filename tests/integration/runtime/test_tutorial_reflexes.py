"""The reflex tutorial runs as written, and what it says about the output holds.

Every ````bash`` block of ``docs/tutorials/reflexes.md`` runs once, in document order, as one
``bash`` script in a fresh folder whose ``wine-home`` is the ``EMILY_HOME`` the tutorial exports
(blocks are separate shells, so the export is set here instead), with the project's ``emily``
and ``python`` first on PATH. A block documented with ``# exits N when ...`` may exit 0 or N;
every other block must exit 0. The tests below then check the tutorial's claims on what the
blocks left behind: eval's JSON figures and a bound they beat, the new-column refusal with
nothing stored changed, and two replays of one file that differ only by what the first taught.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "docs" / "tutorials" / "reflexes.md"
BLOCK = re.compile(r"^```bash[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
EXITS = re.compile(r"#\s*exits\s+(\d+)\s+when\b")
HOME = "wine-home"
NEW_COLUMN = "emily learn more.csv"


@dataclass(frozen=True)
class Ran:
    """One block of the tutorial and what running it did."""

    script: str
    allowed: tuple[int, ...]
    returncode: int
    output: str  # stdout then stderr


@dataclass(frozen=True)
class Tutorial:
    """The folder the blocks ran in, each block's outcome, and the home around the refusal."""

    folder: Path
    ran: list[Ran]
    home_around_new_column: tuple[dict[str, str], dict[str, str]]  # files before, after

    def block(self, text: str) -> Ran:
        found = [r for r in self.ran if text in r.script]
        assert found, f"no bash block of {TUTORIAL.name} contains `{text}`"
        return found[0]


def blocks() -> list[tuple[str, tuple[int, ...]]]:
    """Each bash block and the exit statuses it may end with."""
    out = []
    for match in BLOCK.finditer(TUTORIAL.read_text(encoding="utf-8")):
        script = match.group(1)
        documented = [int(n) for n in EXITS.findall(script)]
        out.append((script, (0, *documented)))
    return out


def digest(home: Path) -> dict[str, str]:
    """Every file under ``home`` and the SHA-256 of its bytes."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Tutorial:
    folder = tmp_path_factory.mktemp("tutorial")
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "EMILY_HOME": str(folder / HOME),
        "EMILY_CONFIG": str(folder / "no-emily.toml"),
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "COLUMNS": "100",
    }
    ran: list[Ran] = []
    around: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for script, allowed in blocks():
        before = digest(folder / HOME) if NEW_COLUMN in script else {}
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-ec", script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        ran.append(Ran(script, allowed, proc.returncode, proc.stdout + proc.stderr))
        if NEW_COLUMN in script:
            around = (before, digest(folder / HOME))
        if proc.returncode not in allowed:
            break  # later blocks depend on this one; test_every_block_exits_as_documented says why
    return Tutorial(folder, ran, around)


def test_the_tutorial_sets_the_home_the_blocks_run_in() -> None:
    first_script = blocks()[0][0].strip()
    assert first_script == f"export EMILY_HOME=$PWD/{HOME}"


def test_every_block_exits_as_documented(tutorial: Tutorial) -> None:
    assert len(tutorial.ran) == len(blocks()), "a block failed, so the later ones did not run"
    for ran in tutorial.ran:
        assert ran.returncode in ran.allowed, (
            f"`{ran.script.strip()[:200]}` exited {ran.returncode} (allowed {ran.allowed})\n"
            f"{ran.output[-3000:]}"
        )


def test_eval_json_has_the_figures_and_beats_the_commonest_class(tutorial: Tutorial) -> None:
    report = json.loads((tutorial.folder / "eval.json").read_text())
    for key in ("n", "accuracy", "hit_rate", "miss_rate", "hit_accuracy"):
        assert key in report
    test_rows = (tutorial.folder / "test.csv").read_text().splitlines()[1:]
    labels = [row.rsplit(",", 1)[1] for row in test_rows]
    assert report["n"] == len(labels) == 54
    commonest = max(labels.count(c) for c in set(labels)) / len(labels)
    assert report["accuracy"] > commonest + 0.3
    assert report["hit_rate"] + report["miss_rate"] == pytest.approx(1.0)
    assert report["novel"] == 0  # all three cultivars learned by then
    assert (tutorial.folder / "eval.png").stat().st_size > 10_000


def test_the_held_out_cultivar_is_counted_novel_and_mostly_missed(tutorial: Tutorial) -> None:
    ran = tutorial.block("emily eval test.csv\n")
    figures = dict(re.findall(r"│ ([a-zA-Z][^│]*?)\s+│\s+([0-9.]+%?)\s+│", ran.output))
    assert figures["novel-class stimuli (labels never learned)"] == "15"
    assert float(figures["known classes that hit"].rstrip("%")) >= 90.0
    assert float(figures["novel classes that miss"].rstrip("%")) > 50.0
    assert float(figures["novelty AUROC"]) > 0.9


def test_learning_again_is_idempotent(tutorial: Tutorial) -> None:
    """train.csv holds the 91 rows of train-01.csv and 33 more: one reflex per row, no more."""
    assert "91 reflexes" in tutorial.block("emily learn train-01.csv").output
    assert "124 reflexes" in tutorial.block("emily learn train.csv").output


def test_a_new_column_is_refused_by_name_and_nothing_stored_changes(tutorial: Tutorial) -> None:
    ran = tutorial.block(NEW_COLUMN)
    assert ran.returncode == 2
    assert "new column(s) ['vintage']" in ran.output
    assert "--new-version" in ran.output
    before, after = tutorial.home_around_new_column
    stored = {"schema/default.v1.json", "models/reflex/default.v1.exemplar.json"}
    assert stored <= set(before)
    assert any(name.startswith("lancedb/") for name in before)
    assert after == before  # every file of the home, byte for byte


def _answers(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        del row["latency_s"]
    return rows


def test_two_replays_differ_only_by_what_the_first_taught(tutorial: Tutorial) -> None:
    first = _answers(tutorial.folder / "first.jsonl")
    second = _answers(tutorial.folder / "second.jsonl")
    assert [a["id"] for a in first] == [b["id"] for b in second]
    assert len(first) == 54
    taught = {str(a["id"]) for a in first if a["learned"]}
    for a, b in zip(first, second, strict=True):
        if a["id"] in taught:  # learned by the first run: now a reflex of its own
            assert (b["tier"], b["response"], b["similarity"]) == ("instinct", a["label"], 1.0)
            for same in ("route", "gain", "time_s", "label"):
                assert a[same] == b[same]
        else:
            assert a == b
    suppressed = [a for a in first if a["tier"] == "suppressed"]
    assert suppressed  # 8 Hz at 100 stimuli/s: some land on the inhibitory peak
    assert not any(a["learned"] for a in suppressed)
    comparison = tutorial.block("second.jsonl").output
    assert f"{54 - len(taught)} of 54 answers identical, latency aside" in comparison
