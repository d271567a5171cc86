"""The demo's wine data, read without importing scikit-learn, is ``load_wine()`` exactly (issue 18).

``emily run --demo`` reads scikit-learn's shipped ``wine_data.csv`` itself because ``import
sklearn.datasets`` costs seconds before the first stimulus. These checks hold that copy of
``load_wine``'s reading to the original, value for value, so a scikit-learn release that moves or
changes the file (or renames a column) fails here instead of quietly changing the demo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_wine

from emily.runtime import stimuli
from emily.runtime.stimuli import (
    WINE_FEATURES,
    DemoDataset,
    _read_wine_csv,
    demo_dataset,
    wine_csv,
    wine_table,
)


def test_the_shipped_csv_is_found_and_read_without_the_fallback() -> None:
    path = wine_csv()
    assert path is not None, "scikit-learn no longer ships datasets/data/wine_data.csv"
    assert _read_wine_csv(path) is not None, f"{path} is no longer shaped as load_wine reads it"


def test_the_table_equals_load_wine_value_for_value() -> None:
    wine = load_wine()
    table = wine_table()
    assert table.feature_names == WINE_FEATURES == tuple(wine.feature_names)
    assert table.target_names == tuple(str(n) for n in wine.target_names)
    assert table.target == tuple(int(t) for t in wine.target)
    data = np.asarray(table.data, dtype=np.float64)
    assert data.shape == wine.data.shape
    assert np.array_equal(data, wine.data)  # exact: the same text parsed to the same doubles


def test_the_demo_dataset_is_the_one_load_wine_gave() -> None:
    """What the demo streams from is unchanged: built here the way it was built from
    ``load_wine`` before."""
    wine = load_wine()
    expected = DemoDataset(
        feature_names=tuple(n.replace("/", "_") for n in wine.feature_names),
        low=tuple(float(v) for v in wine.data.min(axis=0)),
        high=tuple(float(v) for v in wine.data.max(axis=0)),
        rows=tuple(tuple(float(v) for v in row) for row in wine.data),
        labels=tuple(str(wine.target_names[t]) for t in wine.target),
    )
    assert demo_dataset() == expected


def test_a_file_of_another_shape_is_not_read(tmp_path: Path) -> None:
    """A changed file makes the reader step aside (``load_wine`` answers) rather than guess."""
    path = tmp_path / "wine_data.csv"
    path.write_text("2,13,a,b\n" + ",".join(["1.0"] * 14) + "\n", encoding="utf-8")
    assert _read_wine_csv(path) is None
    path.write_text("1,12,a,b\n" + ",".join(["1.0"] * 13) + "\n", encoding="utf-8")
    assert _read_wine_csv(path) is None


def test_without_the_file_load_wine_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = wine_table()
    monkeypatch.setattr(stimuli, "wine_csv", lambda: None)
    assert wine_table() == expected
