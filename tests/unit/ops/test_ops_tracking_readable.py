"""Runs a researcher can read: a plot per metric family, target overlays, explained figures."""

from __future__ import annotations

import math

import pytest

from emily.ops.tracking import (
    TrackingConfig,
    describe_metric,
    hypothesis_distribution_figure,
    hypothesis_label,
    loss_curve_figure,
    run_url,
)

HISTORY = {
    "loss": [(s, 100.0 / (s + 1)) for s in range(10)],
    "log_z": [(s, 0.1 * s) for s in range(10)],
    "trajectories": [(s, 16.0 * (s + 1)) for s in range(10)],
    "diversity": [(s, 0.5) for s in range(10)],
    "l1": [(9, 1.962)],
    "jsd": [(9, 0.4)],
}


def test_one_axis_per_metric_family_with_its_own_scale() -> None:
    """Counters (trajectories in the thousands) no longer flatten log Z or diversity."""
    fig = loss_curve_figure(HISTORY)
    axes = {ax.get_title(): ax for ax in fig.axes if ax.has_data()}
    assert len(axes) == len(HISTORY)  # every metric on an axis of its own
    loss = next(ax for t, ax in axes.items() if t.startswith("loss"))
    assert loss.get_yscale() == "log"
    l1 = next(ax for t, ax in axes.items() if t.startswith("L1"))
    assert l1.get_ylim() == pytest.approx((0.0, 2.0))  # its whole range: 0 exact, 2 disjoint
    jsd = next(ax for t, ax in axes.items() if t.startswith("Jensen"))
    assert jsd.get_ylim() == pytest.approx((0.0, math.log(2)))
    for ax in axes.values():
        assert ax.get_xlabel() == "step"
        assert ax.get_ylabel()


def test_hypothesis_labels_are_readable() -> None:
    assert hypothesis_label([("a", "b"), ("b", "c")]) == "a→b, b→c"
    assert hypothesis_label([]) == "(no edges)"
    assert hypothesis_label((1, 3, 0)) == "(1, 3, 0)"


def test_distribution_drawn_against_the_target() -> None:
    counts = {"a→b": 6, "b→a": 3, "(no edges)": 1}
    target = {"a→b": 0.4, "b→a": 0.4, "(no edges)": 0.1, "a→b, b→c": 0.1}
    fig = hypothesis_distribution_figure(counts, target=target, target_name="exact")
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert set(ticks) == set(target)  # a hypothesis the sampler never drew is shown too
    assert not any("(" in t and "'" in t for t in ticks)  # no tuple reprs
    assert ax.get_ylabel() == "probability"
    labels = ax.get_legend_handles_labels()[1]
    assert any("exact" in label for label in labels)
    assert any("sampled" in label for label in labels)
    heights = {t: p.get_height() for t, p in zip(ticks, ax.patches, strict=True)}
    assert heights["a→b"] == pytest.approx(0.6)  # frequencies, comparable with the target


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("l1", 1.962, "1.962 of 2.0 max"),
        ("jsd", 0.0123, "0.0123 of 0.693 max"),
        ("loss", 0.5, "0.5"),
    ],
)
def test_metrics_are_explained_where_they_print(name: str, value: float, expected: str) -> None:
    text = describe_metric(name, value)
    assert text.startswith(expected)
    if name != "loss":
        assert "0 = " in text  # which end is good


def test_run_url_points_at_the_ui_or_the_server() -> None:
    local = TrackingConfig(tracking_uri="sqlite:////tmp/m.db", artifact_root=None)
    assert run_url(local, "3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc"
    server = TrackingConfig(tracking_uri="https://mlflow.lab/", artifact_root=None)
    assert run_url(server, "3", "abc") == "https://mlflow.lab/#/experiments/3/runs/abc"
