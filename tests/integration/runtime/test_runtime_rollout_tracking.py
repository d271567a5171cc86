"""Shadow comparisons from a serving runtime land in one MLflow run, opened on first use."""

from __future__ import annotations

from emily.core import system_clock
from emily.ops.tracking import make_client, tracking_config
from emily.runtime.rollout_serving import ROLLOUT_RUN, RolloutTracking


def test_comparisons_go_to_one_mlflow_run_opened_on_first_use() -> None:
    tracking = RolloutTracking(system_clock())
    tracking(1, {"shadow.overlap": 0.25, "shadow.candidate_error": 0.0})
    tracking(2, {"shadow.overlap": 0.75, "shadow.candidate_error": 1.0})
    tracking.close()
    assert tracking.last_error is None
    client = make_client(tracking_config())
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    (run,) = [r for r in runs if r.info.run_name.startswith(ROLLOUT_RUN)]
    history = client.get_metric_history(run.info.run_id, "shadow.overlap")
    assert [(m.step, m.value) for m in history] == [(1, 0.25), (2, 0.75)]
    assert run.info.status == "FINISHED"
