"""The exported reflex page in headless Chromium (issue #18 item 5): it answers a typed-in
stimulus with the reflex and similarity Python gives, encodes hundreds of records to Python's
bits, agrees with the native kernel on a thousand random queries, and asks no other host."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

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
from emily.instinct.wasm import BundleReflexes, write_bundle

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
SCHEMA = StimulusSchema(
    features={
        "temp": NumericFeature(low=-10.0, high=45.0, levels=64),
        "light": NumericFeature(low=0.0, high=1.0, levels=16),
        "room": CategoricalFeature(categories=("hall", "kitchen", "<unknown>")),
        "noise": NumericFeature(low=0.0, high=120.0),
    }
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, *args: object) -> None:
        pass


def record(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "temp": round(float(rng.uniform(-15, 50)), 2),
        "light": round(float(rng.random()), 3),
        "room": ("hall", "kitchen")[int(rng.integers(2))],
        "noise": float(rng.integers(0, 121)),
    }


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, ReflexMemory, list[dict[str, Any]]]]:
    """A bundle of 300 learned records, served from 127.0.0.1 like `python -m http.server`."""
    subprocess.run(["bash", str(REPO / "scripts" / "build_wasm.sh")], check=True, timeout=120)
    encoder = StimulusEncoder(SCHEMA, seed=2)
    memory = ReflexMemory(encoder=encoder, threshold=0.85, half_life_s=None)
    rng = np.random.default_rng(8)
    learned = [record(rng) for _ in range(300)]
    labels = [("warm" if r["temp"] > 20 else "cold") + f"-{r['room']}" for r in learned]
    memory.learn_many(learned, labels, [1.0] * 300, [f"x{i}" for i in range(300)])
    ids = memory.ids()
    described = [json.dumps(r, sort_keys=True) for r in learned]
    bundle = tmp_path / "site"
    write_bundle(
        bundle,
        BundleReflexes(
            np.stack([memory.vector(i) for i in ids]), ids, labels, [1.0] * 300, described
        ),
        dim=encoder.dim,
        threshold=memory.threshold,
        encoder=encoder,
        title="test home",
    )
    handler = functools.partial(_Quiet, directory=str(bundle))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", memory, learned
    server.shutdown()
    server.server_close()


def test_browser_page_answers_a_typed_stimulus_as_python_does(
    chromium_page: Any,
    site: tuple[str, ReflexMemory, list[dict[str, Any]]],
    save_screenshot: Callable[[object, str], Path],
) -> None:
    url, memory, learned = site
    page = chromium_page
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    typed = {**learned[5], "temp": learned[5]["temp"] + 0.4, "room": "attic"}  # unseen room
    python = memory.lookup({**typed, "room": "<unknown>"})  # what conform() makes of it
    page.fill("#stimulus", json.dumps(typed))
    page.click("#ask")
    page.wait_for_selector("#answer.hit, #answer.miss", timeout=10_000)
    shown = page.text_content("#answer")
    verdict = "hit" if isinstance(python, ReflexHit) else "miss"
    nearest = python.reflex_id if isinstance(python, ReflexHit) else python.nearest_id
    assert page.get_attribute("#answer", "class") == verdict
    assert f"{python.similarity:.4f}" in shown
    assert str(nearest) in shown
    page.fill("#stimulus", json.dumps({**learned[7], "light": learned[7]["light"] + 0.01}))
    page.click("#ask")
    page.wait_for_selector("#answer.hit", timeout=10_000)
    python = memory.lookup({**learned[7], "light": learned[7]["light"] + 0.01})
    assert isinstance(python, ReflexHit)
    assert page.text_content("#response") == python.response
    assert f"{python.similarity:.4f}" in page.text_content("#answer")
    save_screenshot(page, "reflexes-in-the-browser")
    page.fill("#stimulus", json.dumps({"temp": 1}))  # features missing
    page.click("#ask")
    page.wait_for_selector("#answer.error", timeout=10_000)
    assert "missing [light,noise,room]" in page.text_content("#answer")
    assert page.offhost_requests == []


def test_browser_kernel_and_encoder_equal_python_on_many_queries(
    chromium_page: Any, site: tuple[str, ReflexMemory, list[dict[str, Any]]]
) -> None:
    url, memory, _ = site
    page = chromium_page
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    rng = np.random.default_rng(21)
    records = [record(rng) for _ in range(500)]
    got = page.evaluate(
        """(records) => records.map((r) => {
            const v = window.emily.encode(r);
            const a = window.emily.answer(v);
            return [Array.from(v, (b) => b.toString(16).padStart(2, "0")).join(""),
                    a.id, a.similarity];
        })""",
        records,
    )
    assert memory.encoder is not None
    for rec, (hex_bits, rid, sim) in zip(records, got, strict=True):
        vector = memory.encoder.encode(rec)
        assert hex_bits == vector.tobytes().hex()
        python = memory.lookup(vector)
        assert (rid, sim) == (
            python.reflex_id if isinstance(python, ReflexHit) else python.nearest_id,
            python.similarity,
        )
    ids = memory.ids()
    matrix = np.stack([memory.vector(i) for i in ids])
    scan = HammingScan(memory.dim)
    scan.add(matrix)
    noisy = np.packbits(
        np.unpackbits(matrix[rng.integers(0, 300, 500)], axis=1)
        ^ (rng.random((500, memory.dim)) < 0.1).astype(np.uint8),
        axis=1,
    )
    queries = np.concatenate([noisy, rng.integers(0, 256, (500, memory.dim // 8), np.uint8)])
    bench = page.evaluate(
        """(b64) => window.emily.bench(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))""",
        base64.b64encode(queries.tobytes()).decode(),
    )
    assert list(zip(bench["slots"], bench["distances"], strict=True)) == [
        scan.nearest(q) for q in queries
    ]
    assert page.offhost_requests == []
