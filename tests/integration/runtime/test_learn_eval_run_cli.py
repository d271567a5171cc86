"""learn → eval → run on data the project was not tuned to (issue 14), through the real CLI on
a temporary EMILY_HOME with LanceDB: idempotent learning, eval's figures against a 1-NN on the
same split, answers out in input order, replays that repeat, a changed column refused with
nothing stored lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler
from typer.testing import CliRunner, Result

from emily.cli.app import app
from emily.core import InputError

pytestmark = pytest.mark.integration
runner = CliRunner()


def emily(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=True)


def last_json(result: Result) -> dict[str, object]:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.fixture
def home() -> Path:
    """The per-test EMILY_HOME that tests/conftest.py set."""
    return Path(os.environ["EMILY_HOME"])


def split(tmp_path: Path, loader: object, seed: int) -> tuple[Path, Path, float]:
    """train.csv / test.csv as pandas writes them (index column, ``target``), and the test
    accuracy of scikit-learn's 1-NN on min-max-scaled features of the same split."""
    frame = loader(as_frame=True).frame  # type: ignore[operator]
    train, test = train_test_split(frame, test_size=0.3, random_state=seed, stratify=frame.target)
    paths = tmp_path / "train.csv", tmp_path / "test.csv"
    train.to_csv(paths[0])
    test.to_csv(paths[1])
    columns = [c for c in frame.columns if c != "target"]
    scaler = MinMaxScaler().fit(train[columns])
    knn = KNeighborsClassifier(1).fit(scaler.transform(train[columns]), train.target)
    return (*paths, float(knn.score(scaler.transform(test[columns]), test.target)))


@pytest.mark.parametrize(("loader", "seed"), [(load_wine, 3), (load_breast_cancer, 11)])
def test_learn_then_eval_matches_a_nearest_neighbour(
    tmp_path: Path, home: Path, loader: object, seed: int
) -> None:
    train, test, knn_accuracy = split(tmp_path, loader, seed)
    first = last_json(emily("learn", str(train), "--label", "target", "--json"))
    again = last_json(emily("learn", str(train), "--json"))  # the schema remembers the label
    assert first["reflexes"] == again["reflexes"] == first["labelled"]  # idempotent
    assert 0.5 < float(str(first["threshold"])) < 1.0
    report = last_json(emily("eval", str(test), "--json", "--plot", str(tmp_path / "e.png")))
    for key in ("n", "accuracy", "hit_rate", "miss_rate", "hit_accuracy"):
        assert key in report
    assert report["n"] == len(test.read_text().splitlines()) - 1
    assert float(str(report["accuracy"])) >= knn_accuracy - 0.02  # matches a 1-NN or beats it
    assert float(str(report["hit_rate"])) + float(str(report["miss_rate"])) == pytest.approx(1)
    assert (tmp_path / "e.png").stat().st_size > 10_000


def test_held_out_classes_mostly_miss_while_known_ones_hit(tmp_path: Path, home: Path) -> None:
    frame = load_wine(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.4, random_state=5, stratify=frame.target)
    train[train.target != 2].to_csv(tmp_path / "known.csv")  # learn classes 0 and 1 only
    test.to_csv(tmp_path / "test.csv")
    last_json(emily("learn", str(tmp_path / "known.csv"), "--label", "target", "--json"))
    report = last_json(emily("eval", str(tmp_path / "test.csv"), "--json"))
    assert report["novel"] == int((test.target == 2).sum())
    assert float(str(report["known_hit_rate"])) > 0.8
    assert float(str(report["novel_miss_rate"])) > 0.5
    assert float(str(report["novelty_auroc"])) > 0.8


def test_eval_out_has_one_answer_per_stimulus_in_input_order(tmp_path: Path, home: Path) -> None:
    train, test, _ = split(tmp_path, load_wine, 0)
    last_json(emily("learn", str(train), "--label", "target", "--model", "prototype", "--json"))
    out = tmp_path / "answers.jsonl"
    report = last_json(emily("eval", str(test), "--out", str(out), "--json"))
    assert report["model"] == "prototype"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [line.split(",", 1)[0] for line in test.read_text().splitlines()[1:]]
    assert [line["id"] for line in lines] == ids
    for line in lines:
        assert {"id", "route", "response", "similarity", "gain", "learned", "label"} <= set(line)
    assert np.mean([line["correct"] for line in lines]) == pytest.approx(report["accuracy"])


def _answers(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row.pop("latency_s")
    return rows


def test_run_replays_a_file_identically_and_reports_the_suppressed(
    tmp_path: Path, home: Path
) -> None:
    train, test, _ = split(tmp_path, load_wine, 1)
    last_json(emily("learn", str(train), "--label", "target", "--json"))
    flags = ["--no-live", "--no-cognition", "--no-journal", "--json"]
    runs = []
    for n in range(3):  # the first run learns its misses; the later two see the same home
        out = tmp_path / f"run{n}.jsonl"
        runs.append((last_json(emily("run", str(test), "--out", str(out), *flags)), out))
    assert _answers(runs[1][1]) == _answers(runs[2][1])
    summary, out = runs[1]
    answers = _answers(out)
    assert len(answers) == summary["n"] == len(test.read_text().splitlines()) - 1
    suppressed = [a for a in answers if a["tier"] == "suppressed"]
    assert len(suppressed) == summary["suppressed"] > 0  # 8 Hz at 100/s: some land on a peak
    assert all(a["label"] is not None and not a["learned"] for a in suppressed)
    ungated = last_json(emily("run", str(test), "--gate", "off", *flags))
    assert ungated["suppressed"] == 0
    read_only = [tmp_path / "ro1.jsonl", tmp_path / "ro2.jsonl"]
    for out in read_only:  # a run that only reads the home repeats from the first time
        last_json(emily("run", str(test), "--no-learn", "--out", str(out), *flags))
    assert _answers(read_only[0]) == _answers(read_only[1])


def test_a_new_column_is_refused_by_name_and_nothing_stored_is_lost(
    tmp_path: Path, home: Path
) -> None:
    train, test, _ = split(tmp_path, load_wine, 2)
    learned = last_json(emily("learn", str(train), "--label", "target", "--json"))
    before = last_json(emily("eval", str(test), "--json"))
    text = test.read_text().splitlines()
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join([text[0] + ",batch_no"] + [row + ",7" for row in text[1:]]))
    for command in (["learn", str(changed), "--json"], ["eval", str(changed), "--json"]):
        result = emily(*command)
        assert isinstance(result.exception, InputError)
        message = str(result.exception)
        assert "batch_no" in message
        assert "--new-version" in message
    after = last_json(emily("eval", str(test), "--json"))
    assert after == before
    again = last_json(emily("learn", str(train), "--json"))
    assert again["reflexes"] == learned["reflexes"]


def test_a_phase_locked_file_is_passed_whole_and_warned_about(tmp_path: Path, home: Path) -> None:
    train, test, _ = split(tmp_path, load_wine, 4)
    last_json(emily("learn", str(train), "--label", "target", "--json"))
    flags = ["--no-live", "--no-cognition", "--no-journal"]
    locked = emily("run", str(test), "--rate", "1", *flags)  # 8 whole cycles between stimuli
    assert locked.exit_code == 0, locked.output
    assert "phase-locked" in locked.output
    assert " 0 suppressed" in locked.output  # the onset reset: every stimulus meets release
    spread = emily("run", str(test), *flags)  # 100/s: 12.5 stimuli per cycle
    assert "phase-locked" not in spread.output


def test_learning_without_the_label_column_stores_nothing(tmp_path: Path, home: Path) -> None:
    train, _, _ = split(tmp_path, load_wine, 6)
    forgot = emily("learn", str(train), "--json")  # scikit-learn frames call the label 'target'
    assert isinstance(forgot.exception, InputError)
    assert "--label target" in str(forgot.exception)
    assert not (home / "schema").exists()  # no schema with 'target' as a feature left behind
    assert last_json(emily("learn", str(train), "--label", "target", "--json"))["classes"] == 3


def test_novel_stimuli_reach_cognition_and_come_back_as_hypotheses(
    tmp_path: Path, home: Path
) -> None:
    frame = load_wine(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.4, random_state=5, stratify=frame.target)
    train[train.target != 2].to_csv(tmp_path / "known.csv")  # cultivar 2 stays novel
    test.to_csv(tmp_path / "test.csv")
    last_json(emily("learn", str(tmp_path / "known.csv"), "--label", "target", "--json"))
    summary = last_json(
        emily("run", str(tmp_path / "test.csv"), "--no-live", "--no-journal", "--json")
    )
    assert int(str(summary["cognition_offered"])) >= 8  # a window's worth of novel stimuli
    cognition = summary["cognition"]
    assert isinstance(cognition, dict)
    assert cognition["batches"] >= 1
    assert cognition["hypotheses"]
    shares = [h["share"] for h in cognition["hypotheses"]]
    assert all(0 < share <= 1 for share in shares)
    assert sum(shares) <= 1 + 1e-9  # shares of one batch's samples
