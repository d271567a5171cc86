from __future__ import annotations

import re
from pathlib import Path

import yaml

from emily.runtime.dashboard import PANELS, build_dashboard, render
from emily.runtime.metrics import RuntimeMetrics

ROOT = Path(__file__).resolve().parents[3]


def _exported_names() -> set[str]:
    metrics = RuntimeMetrics()
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in metrics.registry.collect():
        names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def test_seed_metrics_are_exported_under_their_seed_names() -> None:
    metrics = RuntimeMetrics()
    metrics.mode_collapse.inc()
    metrics.hypothesis_diversity.set(0.42)
    metrics.cognition_latency.observe(0.2)
    text = metrics.exposition().decode()
    assert "gflownet_mode_collapse_total 1.0" in text
    assert "gflownet_hypothesis_diversity 0.42" in text
    assert 'cognition_inference_latency_seconds_bucket{le="0.5"} 1.0' in text


def test_state_gauge_marks_exactly_one_state() -> None:
    metrics = RuntimeMetrics()
    metrics.set_state("fallback", ["resting", "processing", "fallback"])
    text = metrics.exposition().decode()
    assert 'emily_nervous_system_state{state="fallback"} 1.0' in text
    assert 'emily_nervous_system_state{state="resting"} 0.0' in text


def _metric_names_in(expr: str) -> set[str]:
    words = set(re.findall(r"\b(?:emily|gflownet|cognition)_[a-z0-9_]+\b", expr))
    return {w for w in words if not w.startswith("emily:")}


def test_rules_and_dashboard_only_use_exported_metrics() -> None:
    exported = _exported_names()
    rules = yaml.safe_load((ROOT / "infra/prometheus/rules/emily.rules.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    exprs += [panel.expr for panel in PANELS]
    used = set().union(*(_metric_names_in(expr) for expr in exprs))
    assert used, "no metric names found: the pattern is wrong"
    assert used <= exported, f"not exported: {sorted(used - exported)}"


def test_committed_dashboard_matches_its_source() -> None:
    committed = (ROOT / "infra/grafana/emily.json").read_text()
    assert committed == render(), (
        "regenerate: python -m emily.runtime.dashboard > infra/grafana/emily.json"
    )
    dashboard = build_dashboard()
    assert len(dashboard["panels"]) == len(PANELS)
    assert len({p["id"] for p in dashboard["panels"]}) == len(PANELS)
