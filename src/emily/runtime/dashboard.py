"""The Grafana dashboard, generated from one list of panels.

Hand-edited dashboard JSON drifts from the metrics it plots; generating it from
``PANELS`` (whose expressions use the names in ``emily.runtime.metrics``) keeps one source.
``python -m emily.runtime.dashboard > infra/grafana/emily.json`` regenerates the committed file,
and a test fails when the two differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    """One time-series panel: a PromQL expression, its unit and optional alert thresholds."""

    title: str
    expr: str
    unit: str = "short"
    legend: str = ""
    thresholds: tuple[tuple[float, str], ...] = ()


PANELS: tuple[Panel, ...] = (
    Panel(
        "Reflex latency p99",
        "emily:reflex_latency_seconds:p99_1m",
        unit="s",
        thresholds=((0.040, "orange"), (0.050, "red")),
    ),
    Panel(
        "Tier latency p50 by tier",
        "histogram_quantile(0.5, sum by (le, tier) (rate(emily_tier_latency_seconds_bucket[1m])))",
        unit="s",
        legend="{{tier}}",
    ),
    Panel("Stimuli per second", "sum(rate(emily_gate_signals_total[1m]))", unit="reqps"),
    Panel("Reflex hit ratio", "emily:reflex_hit_ratio:5m", unit="percentunit"),
    Panel("Gate suppression ratio", "emily:gate_suppression_ratio:5m", unit="percentunit"),
    Panel(
        "Hypothesis diversity",
        "gflownet_hypothesis_diversity",
        thresholds=((0.0, "red"), (0.3, "green")),
    ),
    Panel(
        "Cognition latency p95",
        "histogram_quantile(0.95, sum by (le) "
        "(rate(cognition_inference_latency_seconds_bucket[5m])))",
        unit="s",
    ),
    Panel("Mode collapses (5m)", "increase(gflownet_mode_collapse_total[5m])"),
    Panel("Nervous-system state", "emily_nervous_system_state == 1", legend="{{state}}"),
    Panel("Alpha power", "emily_alpha_power"),
    Panel("Alpha drift (Hz)", "emily_alpha_drift_hz", unit="hertz"),
    Panel("Bus up", "emily_bus_up", thresholds=((0.0, "red"), (1.0, "green"))),
    Panel("Consolidation progress", "emily_consolidation_progress_ratio", unit="percentunit"),
    Panel(
        "Remediation actions (1h)",
        "sum by (action) (increase(emily_remediation_actions_total[1h]))",
        legend="{{action}}",
    ),
)


def _panel_json(panel: Panel, index: int) -> dict[str, Any]:
    width, height = 12, 8
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": color, "value": value} for value, color in panel.thresholds]
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": height, "w": width, "x": (index % 2) * width, "y": (index // 2) * height},
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "targets": [{"refId": "A", "expr": panel.expr, "legendFormat": panel.legend}],
    }


def build_dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (schema version 39)."""
    return {
        "uid": "emily-sovereign",
        "title": "Emily Sovereign",
        "tags": ["emily"],
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "10s",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": [_panel_json(panel, i) for i, panel in enumerate(PANELS)],
    }


def render() -> str:
    """The dashboard as stable, indented JSON text."""
    return json.dumps(build_dashboard(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
