"""The "How to extend" page (docs/how-to-extend.md) is code that runs (issue #19 item 5).

Each example under docs/examples/ is run as a newcomer would run it, in its own interpreter (a
registration there must not leak into this process), and the page's code blocks must stand word
for word in the files they name, so neither the page nor the examples can drift.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "how-to-extend.md"
EXAMPLES = ROOT / "docs" / "examples"
BLOCK = re.compile(r"```python\n# from (?P<path>\S+)\n(?P<code>.*?)```", re.DOTALL)


def _run(example: str, *args: str) -> dict[str, Any]:
    """Run ``docs/examples/<example>`` from the repository root; its last line is JSON."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / example), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_code_block_stands_in_the_file_it_names() -> None:
    page = PAGE.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(page))
    assert len(blocks) == page.count("```python"), "a python block without '# from PATH'"
    cited = set()
    for block in blocks:
        source = ROOT / block["path"]
        assert source.is_file(), f"{block['path']} named on the page does not exist"
        assert block["code"] in source.read_text(encoding="utf-8"), (
            f"a block on the page no longer stands in {block['path']}:\n{block['code']}"
        )
        cited.add(source.name)
    assert {p.name for p in EXAMPLES.glob("*.py")} <= cited, "an example the page never shows"


@pytest.mark.slow
def test_toy_space_trains_and_samples_through_the_api_and_the_cli() -> None:
    result = _run("toy_hypothesis_space.py", "300")
    api, train, sample = result["api"], result["cli"]["train"], result["cli"]["sample"]
    # What the page says: L1 from about 1.1 to under 0.2, about three quarters of the samples
    # on the modes (the target puts 30/40 there).
    assert api["untrained_l1"] > 0.9
    assert api["trained_l1"] < 0.2
    assert 0.6 < api["mode_share"] < 0.9
    assert all(re.fullmatch("[01]{4}", s) for s in api["examples"])
    # `emily train --env bits` found the registered space and its default variant.
    assert train["env"] == "bits"
    assert train["variant"] == "v1"
    assert train["steps"] == 300
    assert train["l1"] < 0.2
    # `emily sample` reloaded the checkpoint through the registry: the most frequent strings
    # are modes (two bits set), each with the modes' reward.
    assert sample["samples"] == 400
    assert 1 < sample["distinct"] <= 16
    assert [h["hypothesis"].count("1") for h in sample["top"][:3]] == [2, 2, 2]
    assert all(h["log_reward"] == pytest.approx(1.6094379) for h in sample["top"][:3])


def test_sqlite_backend_keeps_a_reflex_across_memories() -> None:
    assert _run("sqlite_reflex_store.py") == {"stored": 1, "answer": "withdraw hand"}


def test_new_command_lists_the_registered_spaces() -> None:
    spaces = _run("spaces_command.py")
    assert list(spaces)[:2] == ["hypergrid", "dag"]
    assert spaces["hypergrid"]["variant"] == "v1"
    assert spaces["dag"]["variant"] == "dag"
