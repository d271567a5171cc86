"""A corpus of malformed inputs at every entry point: each is refused in one clear line.

The contract (issue 16): bad input anywhere (CLI, API, settings, environment) gets one line
saying what was wrong, where, and what is expected, and a non-zero exit or a 4xx; never a
traceback, never a 5xx. The CLI cases run the console entry in a process of their own
(forked warm, ``_support.cli.run_emily``), each with a fresh ``EMILY_HOME``, a few at a time in
threads; the API cases use the FastAPI app in process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _support.cli import run_emily
from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import ApiOptions, create_app
from emily.runtime.loop import TriuneRuntime

pytestmark = pytest.mark.slow

WORKERS = 3  # CLI processes at a time
TIMEOUT_S = 300  # per case, generous for a loaded 2-core machine

TRAIN = "x,y,label\n1,2,a\n2,3,b\n1.5,2.5,a\n2.5,3.5,b\n"
BINARY = bytes(range(255, -1, -1)) * 16  # 0xff first: not UTF-8 from the first byte
DEEP = "[" * 100_000 + "]" * 100_000
FILES: dict[str, str | bytes] = {
    "train.csv": TRAIN,
    "bin.csv": BINARY,
    "bin.jsonl": BINARY,
    "bin.json": BINARY,
    "bin.parquet": BINARY,
    "fake.parquet": b"PAR1" + b"\x00" * 64 + struct.pack("<I", 16) + b"PAR1",
    "extra.csv": "x,y,label\n1,2,a,EXTRA\n",
    "empty.csv": "",
    "header.csv": "x,y,label\n",
    "empty.jsonl": "\n",
    "deep.jsonl": '{"x": ' + DEEP + "}\n",
    "deep.json": DEEP,
    "badline.jsonl": '{"x": 1, "label": "a"\n',
    "bad.json": '{"a": 1',
    "scalar.json": "42",
    "nan.csv": "x,y,label\nNaN,2,a\n",
    "text.csv": "x,y,label\nabc,2,a\n",
    "other.csv": "a,b,label\n1,2,a\n",
    "notes.txt": "hello",
    "schema.json": "not json",
    "values-nan.jsonl": '{"id": "n", "values": [NaN, 1]}\n',
    "values-inf.json": '[{"id": "i", "values": [1e999]}]',
    "values-text.jsonl": '{"id": "t", "values": ["a", "b"]}\n',
    "values-scalar.jsonl": '{"id": "s", "values": 5}\n',
    "values-cell.csv": 'id,values\nc,"[1, x]"\n',
    "values-extra.csv": "id,text\n1,a,EXTRA\n",
    "a-file": "not a folder",
    "syntax.toml": "hdc_dim = = 3\n",
    "unknown.toml": "latency_budget = 20\n",
    "wrongtype.toml": 'seed = "seven"\n',
    "binary.toml": BINARY,
}
FOLDERS = ("a-folder",)


@dataclass(frozen=True)
class Case:
    """One malformed invocation and the words its one-line refusal must contain."""

    name: str
    args: tuple[str, ...]
    expected: str  # a regex, searched case-insensitively in stdout + stderr
    env: dict[str, str] = field(default_factory=dict)
    learned_home: bool = False  # start from a home where `emily learn train.csv` has run


def _cases() -> list[Case]:
    c = Case
    run = [
        c("run-missing", ("run", "{d}/nope.csv"), r"nope\.csv"),
        c("run-folder", ("run", "{d}/a-folder"), r"a-folder"),
        c("run-binary", ("run", "{d}/bin.csv"), r"UTF-8"),
        c("run-deep-json", ("run", "{d}/deep.jsonl"), r"nested too deeply"),
        c("run-extra-cells", ("run", "{d}/extra.csv"), r"4 cells but the header has 3"),
        c("run-empty", ("run", "{d}/empty.csv"), r"empty"),
        c("run-bad-jsonl", ("run", "{d}/badline.jsonl"), r"not valid JSON"),
        c("run-nan", ("run", "{d}/nan.csv"), r"NaN"),
        c("run-demo-and-file", ("run", "--demo", "{d}/train.csv"), r"--demo"),
        c("run-unsupported", ("run", "{d}/notes.txt"), r"notes\.txt"),
    ]
    ingest = [
        c("ingest-bad-json", ("ingest", "{d}/bad.json"), r"bad\.json is not valid JSON"),
        c("ingest-deep-json", ("ingest", "{d}/deep.json"), r"nests JSON too deeply"),
        c("ingest-bad-jsonl", ("ingest", "{d}/badline.jsonl"), r"badline\.jsonl:1 is not valid"),
        c("ingest-binary-jsonl", ("ingest", "{d}/bin.jsonl"), r"not UTF-8 text"),
        c("ingest-binary-json", ("ingest", "{d}/bin.json"), r"not UTF-8 text"),
        c("ingest-binary-csv", ("ingest", "{d}/bin.csv"), r"not UTF-8 text"),
        c("ingest-binary-parquet", ("ingest", "{d}/bin.parquet"), r"not a Parquet file"),
        c("ingest-fake-parquet", ("ingest", "{d}/fake.parquet"), r"Parquet file"),
        c("ingest-extra-cells", ("ingest", "{d}/values-extra.csv"), r"3 cells but the header"),
        c("ingest-nan-values", ("ingest", "{d}/values-nan.jsonl"), r"NaN or an infinity"),
        c("ingest-huge-values", ("ingest", "{d}/values-inf.json"), r"NaN or an infinity"),
        c("ingest-text-values", ("ingest", "{d}/values-text.jsonl"), r"list of numbers"),
        c("ingest-scalar-values", ("ingest", "{d}/values-scalar.jsonl"), r"list of numbers"),
        c("ingest-bad-values-cell", ("ingest", "{d}/values-cell.csv"), r"not valid JSON"),
        c("ingest-empty", ("ingest", "{d}/empty.jsonl"), r"holds no records"),
        c("ingest-scalar-json", ("ingest", "{d}/scalar.json"), r"list of objects"),
        c("ingest-missing", ("ingest", "{d}/nope.jsonl"), r"does not exist"),
        c("ingest-folder", ("ingest", "{d}/a-folder"), r"is a folder"),
        c("ingest-unsupported", ("ingest", "{d}/notes.txt"), r"unsupported file type"),
    ]
    learn_eval = [
        c("learn-missing", ("learn", "{d}/nope.csv"), r"does not exist"),
        c("learn-folder", ("learn", "{d}/a-folder"), r"directory|folder"),
        c("learn-binary", ("learn", "{d}/bin.csv"), r"UTF-8"),
        c("learn-extra-cells", ("learn", "{d}/extra.csv"), r"4 cells but the header has 3"),
        c("learn-empty", ("learn", "{d}/empty.csv"), r"empty"),
        c("learn-header-only", ("learn", "{d}/header.csv"), r"no stimuli"),
        c("learn-deep-json", ("learn", "{d}/deep.jsonl"), r"nested too deeply"),
        c("learn-bad-jsonl", ("learn", "{d}/badline.jsonl"), r"not valid JSON"),
        c("learn-nan", ("learn", "{d}/nan.csv"), r"NaN"),
        c("learn-no-label", ("learn", "{d}/train.csv", "--label", "nope"), r"'nope' label"),
        c("learn-bad-schema", ("learn", "{d}/train.csv", "--schema", "{d}/schema.json"), "schema"),
        c("learn-bad-model", ("learn", "{d}/train.csv", "--model", "bogus"), r"--model"),
        c("learn-per-class-0", ("learn", "{d}/train.csv", "--per-class", "0"), r"--per-class"),
        c("learn-miss-rate", ("learn", "{d}/train.csv", "--target-miss-rate", "2"), "miss-rate"),
        c("eval-before-learn", ("eval", "{d}/train.csv"), r"no schema yet"),
        c("eval-binary", ("eval", "{d}/bin.csv"), r"UTF-8", learned_home=True),
        c("eval-other-columns", ("eval", "{d}/other.csv"), r"new column", learned_home=True),
        c("eval-text-value", ("eval", "{d}/text.csv"), r"expects a number", learned_home=True),
        c(
            "eval-no-prototype",
            ("eval", "{d}/train.csv", "--model", "prototype"),
            r"no prototype reflexes",
            learned_home=True,
        ),
        c("eval-threshold", ("eval", "{d}/train.csv", "--threshold", "7"), r"--threshold"),
        c(
            "eval-out-folder",
            ("eval", "{d}/train.csv", "--out", "{d}/a-folder"),
            r"--out .*a-folder is a folder",
            learned_home=True,
        ),
        c(
            "eval-out-under-file",
            ("eval", "{d}/train.csv", "--out", "{d}/a-file/x.jsonl"),
            r"a-file is a file",
            learned_home=True,
        ),
        c(
            "eval-plot-under-file",
            ("eval", "{d}/train.csv", "--plot", "{d}/a-file/p.png"),
            r"--plot .*a-file is a file",
            learned_home=True,
        ),
    ]
    train = [
        c("train-huge-hidden", ("train", "--hidden", "100000000", "--no-track"), r"--hidden"),
        c("train-bad-env", ("train", "--env", "bogus", "--no-track"), r"--env"),
        c("train-zero-steps", ("train", "--steps", "0", "--no-track"), r"--steps"),
        c("train-hypergrid-data", ("train", "--data", "{d}/train.csv", "--no-track"), r"--env dag"),
    ]
    settings = [
        c(
            "home-empty",
            ("learn", "{d}/train.csv"),
            r"EMILY_HOME='' .*set but empty",
            env={"EMILY_HOME": ""},
        ),
        c(
            "home-dev-null",
            ("learn", "{d}/train.csv"),
            r"'/dev/null' is not a folder",
            env={"EMILY_HOME": "/dev/null"},
        ),
        c(
            "home-under-file",
            ("learn", "{d}/train.csv"),
            r"a-file is a file",
            env={"EMILY_HOME": "{d}/a-file/home"},
        ),
        c(
            "home-in-proc",
            ("ingest", "{d}/bad.json"),
            r"cannot be created",
            env={"EMILY_HOME": "/proc/emily-home"},
        ),
        c(
            "hdc-dim-64",
            ("learn", "{d}/train.csv"),
            r"EMILY_HDC_DIM='64' is invalid",
            env={"EMILY_HDC_DIM": "64"},
        ),
        c(
            "hdc-dim-64-existing",
            ("eval", "{d}/train.csv"),
            r"EMILY_HDC_DIM",
            env={"EMILY_HDC_DIM": "64"},
            learned_home=True,
        ),
        c(
            "hdc-dim-other-existing",
            ("eval", "{d}/train.csv"),
            r"10000-bit hypervectors but EMILY_HDC_DIM is 1024; set EMILY_HDC_DIM=10000",
            env={"EMILY_HDC_DIM": "1024"},
            learned_home=True,
        ),
        c(
            "hdc-dim-huge",
            ("learn", "{d}/train.csv"),
            r"EMILY_HDC_DIM=.* less than or equal",
            env={"EMILY_HDC_DIM": "100000000000000"},
        ),
        c(
            "hdc-dim-text",
            ("learn", "{d}/train.csv"),
            r"EMILY_HDC_DIM='ten'",
            env={"EMILY_HDC_DIM": "ten"},
        ),
        c(
            "hdc-dim-odd",
            ("learn", "{d}/train.csv"),
            r"multiple of 8",
            env={"EMILY_HDC_DIM": "1001"},
        ),
        c(
            "seed-negative",
            ("learn", "{d}/train.csv"),
            r"EMILY_SEED='-1'",
            env={"EMILY_SEED": "-1"},
        ),
        c(
            "latency-text",
            ("run", "{d}/train.csv"),
            r"EMILY_LATENCY_BUDGET_MS='fast'",
            env={"EMILY_LATENCY_BUDGET_MS": "fast"},
        ),
        c(
            "falkordb-url",
            ("sleep",),
            r"EMILY_FALKORDB_URL=.*redis://",
            env={"EMILY_FALKORDB_URL": "http://x"},
        ),
        c(
            "zenoh-endpoint",
            ("run", "{d}/train.csv"),
            r"EMILY_ZENOH_ENDPOINT",
            env={"EMILY_ZENOH_ENDPOINT": "127.0.0.1:7447"},
        ),
        c(
            "toml-syntax",
            ("learn", "{d}/train.csv"),
            r"syntax\.toml: not valid TOML",
            env={"EMILY_CONFIG": "{d}/syntax.toml"},
        ),
        c(
            "toml-unknown-key",
            ("learn", "{d}/train.csv"),
            r"unknown setting 'latency_budget'",
            env={"EMILY_CONFIG": "{d}/unknown.toml"},
        ),
        c(
            "toml-wrong-type",
            ("learn", "{d}/train.csv"),
            r"seed = 'seven' in .*wrongtype\.toml",
            env={"EMILY_CONFIG": "{d}/wrongtype.toml"},
        ),
        c(
            "toml-binary",
            ("learn", "{d}/train.csv"),
            r"binary\.toml",
            env={"EMILY_CONFIG": "{d}/binary.toml"},
        ),
        c(
            "toml-is-folder",
            ("learn", "{d}/train.csv"),
            r"cannot read .*a-folder",
            env={"EMILY_CONFIG": "{d}/a-folder"},
        ),
    ]
    return run + ingest + learn_eval + train + settings


CASES = _cases()


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str


def _write_data(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in FILES.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    for name in FOLDERS:
        (folder / name).mkdir(exist_ok=True)
    return folder


def _emily(args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> Outcome:
    try:
        done = run_emily(args, cwd=cwd, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        return Outcome(-1, f"TIMED OUT after {TIMEOUT_S} s (a hang)\n{exc.stdout}{exc.stderr}")
    return Outcome(done.returncode, done.stdout + done.stderr)


def _environment(root: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMILY_")}
    return env | {
        "EMILY_HOME": str(home),
        "EMILY_CONFIG": str(root / "no-emily.toml"),
        "HF_HUB_OFFLINE": "1",
        "PREFECT_HOME": str(root / "prefect"),
        "COLUMNS": "200",  # keep Typer's boxed usage errors on few lines
    }


def _run_case(case: Case, data: Path, learned: Path, root: Path) -> Outcome:
    folder = root / case.name
    folder.mkdir()
    home = folder / "home"
    if case.learned_home:
        shutil.copytree(learned, home)
    env = _environment(folder, home)
    env |= {k: v.format(d=data) for k, v in case.env.items()}
    return _emily(tuple(a.format(d=data) for a in case.args), folder, env)


def _selected(session: pytest.Session) -> list[Case]:
    """The CLI cases this session will test (all of them, unless ``-k`` picked a few)."""
    params = [getattr(item, "callspec", None) for item in session.items]
    names = {p.params["case"].name for p in params if p and isinstance(p.params.get("case"), Case)}
    return [c for c in CASES if c.name in names]


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Outcome]:
    """The selected CLI cases, run once, a few at a time (the tests only read the outcomes)."""
    root = tmp_path_factory.mktemp("corpus")
    data = _write_data(root / "data")
    learned = root / "learned-home"
    made = _emily(("learn", str(data / "train.csv")), root, _environment(root, learned))
    assert made.returncode == 0, made.output
    (root / "cases").mkdir()
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {
            c.name: pool.submit(_run_case, c, data, learned, root / "cases")
            for c in _selected(request.session)
        }
        return {name: future.result() for name, future in futures.items()}


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) + len(API_CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_refuses_in_one_clear_line(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    assert outcome.returncode != 0, outcome.output
    assert "Traceback" not in outcome.output, outcome.output
    assert re.search(case.expected, outcome.output, re.IGNORECASE | re.DOTALL), outcome.output


# --- the HTTP API, in process --------------------------------------------------------------

DIM = 1024
TOKEN = "corpus-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}


@dataclass(frozen=True)
class ApiCase:
    """One malformed request: method, path and a raw body (bytes, exactly as sent)."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


def _api_cases() -> list[ApiCase]:
    a = ApiCase
    good = {"id": "s", "features": {"x": 0.5}}
    alert = {
        "version": "3",
        "groupKey": "g",
        "status": "firing",
        "receiver": "r",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": [],
    }
    return [
        a("no-payload", "POST", "/stimuli", _body({"id": "bad"})),
        a("both-payloads", "POST", "/stimuli", _body({**good, "text": "t"})),
        a("id-not-string", "POST", "/stimuli", _body({"id": 5, "features": {"x": 0.5}})),
        a("empty-id", "POST", "/stimuli", _body({"id": "", "features": {"x": 0.5}})),
        a("empty-features", "POST", "/stimuli", _body({"id": "s", "features": {}})),
        a("text-feature", "POST", "/stimuli", _body({"id": "s", "features": {"x": "high"}})),
        a("unknown-feature", "POST", "/stimuli", _body({"id": "s", "features": {"zz": 1.0}})),
        a("extra-field", "POST", "/stimuli", _body({**good, "bogus": 1})),
        a("negative-salience", "POST", "/stimuli", _body({**good, "salience": -1})),
        a("nan-feature", "POST", "/stimuli", b'{"id": "s", "features": {"x": NaN}}'),
        a("infinity-feature", "POST", "/stimuli", b'{"id": "s", "features": {"x": Infinity}}'),
        a("1e999-feature", "POST", "/stimuli", b'{"id": "s", "features": {"x": 1e999}}'),
        a(
            "nan-timestamp",
            "POST",
            "/stimuli",
            b'{"id": "s", "features": {"x": 0.5}, "timestamp": NaN}',
        ),
        a("lone-surrogate-id", "POST", "/stimuli", b'{"id": "\\ud800", "features": {"x": 0.5}}'),
        a("lone-surrogate-key", "POST", "/stimuli", b'{"id": "s", "features": {"\\udfff": 1}}'),
        a(
            "deep-json",
            "POST",
            "/stimuli",
            ('{"id": "s", "features": {"x": ' + DEEP + "}}").encode(),
        ),
        a("not-json", "POST", "/stimuli", b"not json"),
        a("binary-body", "POST", "/stimuli", BINARY),
        a("empty-body", "POST", "/stimuli", b""),
        a("array-body", "POST", "/stimuli", b"[1, 2]"),
        a("too-large", "POST", "/stimuli", b'{"id": "' + b"x" * (2 << 20) + b'"}'),
        a("no-token", "POST", "/stimuli", _body(good), {"Content-Type": "application/json"}),
        a("batch-empty", "POST", "/stimuli/batch", _body({"stimuli": []})),
        a(
            "batch-bad-item",
            "POST",
            "/stimuli/batch",
            _body({"stimuli": [good, {"id": "b", "features": {"x": "high"}}]}),
        ),
        a("batch-not-list", "POST", "/stimuli/batch", _body({"stimuli": good})),
        a("flag-bad-name", "PUT", "/flags/bad%20name!", _body({"variant": "on"})),
        a("flag-empty-variant", "PUT", "/flags/x", _body({"variant": ""})),
        a("flag-percent-500", "PUT", "/flags/x", _body({"variant": "on", "percent": 500})),
        a("flag-percent-nan", "PUT", "/flags/x", b'{"variant": "on", "percent": NaN}'),
        a("alert-wrong-version", "POST", "/remediation/alertmanager", _body(alert)),
        a("revert-unknown", "POST", "/remediation/nope/revert"),
        a("revert-long-id", "POST", "/remediation/" + "x" * 100 + "/revert"),
    ]


API_CASES = _api_cases()


@pytest.fixture
def api() -> Iterator[TestClient]:
    clock = ManualClock()
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    runtime = TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock, alpha_power=0.0),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    app = create_app(runtime, settings, clock=clock, token=TOKEN, options=ApiOptions())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    runtime.close()


@pytest.mark.parametrize("case", API_CASES, ids=[c.name for c in API_CASES])
def test_api_refuses_with_a_4xx(case: ApiCase, api: TestClient) -> None:
    response = api.request(case.method, case.path, content=case.body, headers=case.headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
