"""The reflex kernel compiled to WebAssembly answers as Python does (issue #18 item 5).

The bundle's own JavaScript (``reflex_core.js``) and kernel run under Node: thousands of random
packed queries get the same slot and distance as :meth:`HammingScan.nearest` (duplicated rows
make ties, so the lowest-slot rule is exercised; dimensions whose tail is not a multiple of 8
bytes or is empty check the edges), and encoded records and texts get the same bits as
:class:`StimulusEncoder` and the same reflex and similarity as :meth:`ReflexMemory.lookup`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emily.instinct import (
    CategoricalFeature,
    NumericFeature,
    ReflexHit,
    ReflexMemory,
    StimulusEncoder,
    StimulusSchema,
)
from emily.instinct._kernel import HammingScan
from emily.instinct.wasm import BundleReflexes, kernel_path, write_bundle
from emily.runtime.schema_store import UNKNOWN, HomeSchema, conform
from emily.runtime.stimuli import Stimulus

REPO = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")

DRIVER = """
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const [bundle, input, output] = process.argv.slice(2);
const source = readFileSync(join(bundle, "reflex_core.js"), "utf8");
const core = await import("data:text/javascript," + encodeURIComponent(source));
const reflexes = await core.openBundle(async (name) => readFileSync(join(bundle, name)));
const job = JSON.parse(readFileSync(input, "utf8"));
const out = { packed: null, encoded: [] };
if (job.packed) out.packed = reflexes.bench(new Uint8Array(Buffer.from(job.packed, "base64")));
for (const stimulus of job.stimuli) {
  try {
    const vector = reflexes.encode(stimulus);
    const answer = reflexes.answer(vector);
    out.encoded.push({ hex: Buffer.from(vector).toString("hex"), id: answer.id,
                       similarity: answer.similarity, hit: answer.hit });
  } catch (error) {
    out.encoded.push({ error: String(error.message) });
  }
}
writeFileSync(output, JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def kernel() -> Path:
    """The kernel as the project's set-up builds it (idempotent: a no-op when up to date)."""
    subprocess.run(["bash", str(REPO / "scripts" / "build_wasm.sh")], check=True, timeout=120)
    assert NODE is not None, "node is needed (Debian package nodejs)"
    return kernel_path()


def run_node(tmp_path: Path, bundle: Path, job: dict[str, Any]) -> dict[str, Any]:
    driver, job_file, out_file = tmp_path / "driver.mjs", tmp_path / "job.json", tmp_path / "o.json"
    driver.write_text(DRIVER, encoding="utf-8")
    job_file.write_text(json.dumps(job), encoding="utf-8")
    assert NODE is not None
    subprocess.run(
        [NODE, str(driver), str(bundle), str(job_file), str(out_file)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(out_file.read_text(encoding="utf-8"))
    return result


def flip(rows: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """``rows`` with about ``rate`` of their bits flipped."""
    bits = np.unpackbits(rows, axis=-1)
    noise = (rng.random(bits.shape) < rate).astype(np.uint8)
    return np.packbits(bits ^ noise, axis=-1)


@pytest.mark.parametrize(("dim", "n"), [(10_000, 3_000), (200, 400), (64, 300)])
def test_wasm_nearest_equals_the_native_kernel_on_random_queries(
    kernel: Path, tmp_path: Path, dim: int, n: int
) -> None:
    rng = np.random.default_rng(dim)
    width = dim // 8
    rows = rng.integers(0, 256, (n, width), dtype=np.uint8)
    rows[n // 2 : n // 2 + 50] = rows[10:60]  # duplicates: exact ties, lowest slot must win
    queries = np.concatenate(
        [
            flip(rows[rng.integers(0, n, 800)], 0.08, rng),  # known with noise: pruned path
            flip(rows[rng.integers(0, n, 300)], 0.35, rng),  # far: little pruning
            rng.integers(0, 256, (600, width), dtype=np.uint8),  # novel: full scan
            rows[10:60],  # equal to a duplicated row
            flip(rows[10:60], 0.01, rng),
        ]
    )
    scan = HammingScan(dim)
    scan.add(rows)
    expected = [scan.nearest(q) for q in queries]
    bundle = tmp_path / "bundle"
    ids = [f"r{i}" for i in range(n)]
    write_bundle(
        bundle,
        BundleReflexes(rows, ids, ids, [1.0] * n, [""] * n),
        dim=dim,
        threshold=0.75,
        encoder=None,
        title="random",
    )
    import base64

    got = run_node(
        tmp_path, bundle, {"packed": base64.b64encode(queries.tobytes()).decode(), "stimuli": []}
    )["packed"]
    assert len(queries) >= 1_800
    assert list(zip(got["slots"], got["distances"], strict=True)) == expected
    assert got["slots"][-100:-50] == list(range(10, 60))  # ties went to the lower copy


SCHEMA = StimulusSchema(
    features={
        "temp": NumericFeature(low=-10.0, high=45.5, levels=64),
        "light": NumericFeature(low=0.0, high=1.0, levels=17),
        "pressure": NumericFeature(low=950.0, high=1050.0, levels=101),
        "room": CategoricalFeature(categories=("hall", "kitchen", "3", "0.25", "1e-07", UNKNOWN)),
        "mood": CategoricalFeature(categories=("calm", "alert", UNKNOWN)),
    }
)


ROOMS: tuple[str | float, ...] = ("hall", "kitchen", "attic", 3, 3.0, 0.25, 1e-7, -0.0)


def random_record(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "temp": float(rng.uniform(-20, 60)),  # out of range sometimes: clamped
        "light": float(rng.choice([0.0, 0.5, 1.0, 1 / 32, 3 / 32, rng.random()])),  # half levels
        "pressure": float(rng.integers(940, 1060)) if rng.random() < 0.5 else rng.normal(1000, 30),
        "room": ROOMS[rng.integers(len(ROOMS))],  # unseen ones and numbers too
        "mood": str(rng.choice(["calm", "alert", "bored"])),
    }


@pytest.mark.parametrize("drop", [None, "mood"])  # five features (odd) and four (even: ties)
def test_wasm_encodes_records_and_answers_as_python(
    kernel: Path, tmp_path: Path, drop: str | None
) -> None:
    features = {k: v for k, v in SCHEMA.features.items() if k != drop}
    schema = StimulusSchema(features=features)
    home = HomeSchema(
        name="t",
        version=1,
        created_at=datetime.now(UTC),
        source="test",
        kind="records",
        features=schema,
    )
    encoder = StimulusEncoder(schema, seed=7)
    rng = np.random.default_rng(11)

    def typed() -> dict[str, Any]:
        record = random_record(rng)
        return {k: v for k, v in record.items() if k != drop}

    def conformed(record: dict[str, Any]) -> dict[str, Any]:
        stimulus = Stimulus(id="s", features=record)
        fixed = conform(stimulus, home).stimulus.features
        assert fixed is not None
        return dict(fixed)

    memory = ReflexMemory(encoder=encoder, threshold=0.8, half_life_s=None)
    learned = [typed() for _ in range(400)]
    memory.learn_many(
        [conformed(r) for r in learned],
        [f"a{i % 7}" for i in range(400)],
        [1.0] * 400,
        [f"id{i}" for i in range(400)],
    )
    queries = learned[:200] + [typed() for _ in range(1_000)]
    bundle = tmp_path / "bundle"
    stored = memory.ids()
    write_bundle(
        bundle,
        BundleReflexes(
            np.stack([memory.vector(i) for i in stored]),
            stored,
            stored,
            [1.0] * len(stored),
            [""] * len(stored),
        ),
        dim=encoder.dim,
        threshold=memory.threshold,
        encoder=encoder,
        title="records",
    )
    got = run_node(tmp_path, bundle, {"packed": None, "stimuli": queries})["encoded"]
    assert len(got) == 1_200
    for record, answer in zip(queries, got, strict=True):
        assert "error" not in answer, (record, answer)
        vector = encoder.encode(conformed(record))
        assert answer["hex"] == vector.tobytes().hex(), record
        python = memory.lookup(vector)
        assert answer["id"] == (
            python.reflex_id if isinstance(python, ReflexHit) else python.nearest_id
        )
        assert answer["similarity"] == python.similarity
        assert answer["hit"] == isinstance(python, ReflexHit)
    assert sum(a["hit"] for a in got[:200]) == 200  # every learned record answers itself


def test_wasm_encodes_texts_and_answers_as_python(kernel: Path, tmp_path: Path) -> None:
    encoder = StimulusEncoder(None, dim=2_048, seed=3)
    rng = np.random.default_rng(5)
    words = ["hot", "stove", "cold", "wind", "a", "ab", "déjà vu", "naïve", "λx", "rain", "🙂"]
    learned = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(150)]
    memory = ReflexMemory(2_048, encoder=encoder, threshold=0.7, half_life_s=None)
    memory.learn_many(learned, [f"r{i}" for i in range(150)], [1.0] * 150)
    stored = memory.ids()
    texts = list(dict.fromkeys(learned))
    queries = [*texts, "a", "ab", "x", "hot!", "stove" * 250, "🙂🙂", "Zebra {}"]
    queries += [" ".join(rng.choice(words, rng.integers(1, 9))) for _ in range(250)]
    bundle = tmp_path / "bundle"
    write_bundle(
        bundle,
        BundleReflexes(
            np.stack([memory.vector(i) for i in stored]),
            stored,
            stored,
            [1.0] * len(stored),
            learned,
        ),
        dim=2_048,
        threshold=memory.threshold,
        encoder=encoder,
        title="texts",
    )
    got = run_node(tmp_path, bundle, {"packed": None, "stimuli": [*queries, "unseen ∑"]})
    *answers, outside = got["encoded"]
    assert "alphabet" in outside["error"]  # a character the bundle has no vector for
    for text, answer in zip(queries, answers, strict=True):
        vector = encoder.encode(text)
        assert answer["hex"] == vector.tobytes().hex(), text
        python = memory.lookup(vector)
        assert answer["id"] == (
            python.reflex_id if isinstance(python, ReflexHit) else python.nearest_id
        )
        assert answer["similarity"] == python.similarity
