"""A user's CSV made ready for a score: index columns, standardisation, category codes, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emily.cognition.data import (
    prepare_for_bdeu,
    prepare_for_bge,
    read_table,
    synthetic_linear_gaussian,
)
from emily.cognition.scores import BDeuScore, BGeScore
from emily.core.errors import InputError


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_index_pandas_writes_is_dropped_with_a_note(tmp_path: Path) -> None:
    frame, _ = synthetic_linear_gaussian(d=3, n=20, seed=1)
    frame.index = frame.index[::-1]  # a shuffled index is still an index
    path = tmp_path / "with-index.csv"
    frame.to_csv(path)
    table = read_table(path)
    assert list(table.frame.columns) == ["x0", "x1", "x2"]
    assert table.dropped == ("Unnamed: 0",)
    assert "row index" in table.notes[0]
    np.testing.assert_allclose(table.frame.to_numpy(), frame.to_numpy())


def test_a_named_column_that_counts_the_rows_is_dropped(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "Index,a,b\n1,0.5,2\n2,0.1,3\n3,0.7,1\n"))
    assert list(table.frame.columns) == ["a", "b"]
    assert table.dropped == ("Index",)
    assert "numbers the rows" in table.notes[0]


def test_an_id_that_does_not_count_the_rows_is_refused_until_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,a,b\n7,0.5,2\n3,0.1,3\n9,0.7,1\n")
    with pytest.raises(InputError, match=r"'id' is named like a row index.*--drop 'id'"):
        read_table(path)
    table = read_table(path, drop=["id"])
    assert list(table.frame.columns) == ["a", "b"]
    assert "as asked" in table.notes[0]
    with pytest.raises(InputError, match=r"--drop names \['zz'\]"):
        read_table(path, drop=["zz"])


def test_short_header_row_labels_and_unnamed_middle_columns(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "a,b\nr1,1,2\nr2,3,5\nr3,4,4\n"))
    assert list(table.frame.columns) == ["a", "b"]
    assert table.frame["a"].tolist() == [1, 3, 4]
    assert "row label" in table.notes[0]
    with pytest.raises(InputError, match="column 2 has no name"):
        read_table(_write(tmp_path, "a,,b\n1,2,3\n4,5,6\n", "mid.csv"))
    with pytest.raises(InputError, match=r"columns \['a'\] appear twice"):
        read_table(_write(tmp_path, "a,a,b\n1,2,3\n4,5,6\n", "dup.csv"))
    with pytest.raises(InputError, match="no rows"):
        read_table(_write(tmp_path, "a,b\n", "empty.csv"))


def test_a_plain_table_is_read_as_it_is(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "a,b\n1,2\n3,5\n"))
    assert table.notes == ()
    assert table.frame.shape == (2, 2)


def test_bge_standardises_by_default_so_units_do_not_matter() -> None:
    frame, _ = synthetic_linear_gaussian(d=3, n=50, seed=4)
    scaled, prep = prepare_for_bge(frame)
    assert prep.standardized
    np.testing.assert_allclose(scaled.mean().to_numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(ddof=0).to_numpy(), 1.0)
    assert prep.means["x0"] == pytest.approx(frame["x0"].mean())
    assert "standardised 3 columns" in prep.notes[0]
    rescaled = frame * np.array([1000.0, 0.001, 7.0])  # other units, same data
    again, _ = prepare_for_bge(rescaled)
    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert BGeScore(again).score_graph(chain) == pytest.approx(BGeScore(scaled).score_graph(chain))
    raw, prep_raw = prepare_for_bge(rescaled, standardize=False)
    assert not prep_raw.standardized
    np.testing.assert_allclose(raw.to_numpy(), rescaled.to_numpy())
    assert BGeScore(raw).score_graph(chain) != pytest.approx(BGeScore(scaled).score_graph(chain))


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"a": ["x", "y", "x"], "b": [1.0, 2.0, 3.0]}), r"columns \['a'\] hold text"),
        (pd.DataFrame({"a": ["1", "?", "2"], "b": [1.0, 2.0, 3.0]}), r"'\?' in row 2"),
        (pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [1.0, 2.0, 3.0]}), r"\{'a': \[2\]\}"),
        (pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [1.0, 2.0, 3.0]}), r"columns \['a'\] hold one"),
    ],
)
def test_bge_refuses_unusable_columns_by_name(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(InputError, match=match):
        prepare_for_bge(frame)


def test_bdeu_encodes_text_categories_and_keeps_their_names() -> None:
    frame = pd.DataFrame(
        {
            "weather": ["sun", "rain", "sun", "snow", "rain"],
            "grade": [3, 1, 3, 2, 1],  # no 0: recoded so no empty category appears
            "wet": [False, True, False, True, True],
        }
    )
    coded, prep = prepare_for_bdeu(frame)
    assert coded["weather"].tolist() == [2, 0, 2, 1, 0]
    assert prep.categories["weather"] == ["rain", "snow", "sun"]
    assert coded["grade"].tolist() == [2, 0, 2, 1, 0]
    assert prep.categories["grade"] == ["1", "2", "3"]
    assert coded["wet"].tolist() == [0, 1, 0, 1, 1]
    assert prep.categories["wet"] == ["False", "True"]
    assert "weather: 0=rain, 1=snow, 2=sun" in prep.notes[0]
    score = BDeuScore(coded)
    assert score.arity.tolist() == [3, 3, 2]


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"a": [0.5, 1.0, 2.0], "b": [0, 1, 1]}), r"non-integer numbers \(e.g. 0.5"),
        (pd.DataFrame({"a": ["1", "x", "2"], "b": [0, 1, 1]}), "mixes numbers and text"),
        (pd.DataFrame({"a": ["x", None, "y"], "b": [0, 1, 1]}), "missing cells"),
        (pd.DataFrame({"a": ["x"] * 3, "b": [0, 1, 1]}), "hold one value"),
        (pd.DataFrame({"a": [f"p{i}" for i in range(25)], "b": [0, 1] * 12 + [0]}), "like an id"),
    ],
)
def test_bdeu_refuses_unusable_columns_by_name(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(InputError, match=match):
        prepare_for_bdeu(frame)
