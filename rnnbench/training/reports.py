"""What a finished run logs beyond its metrics: the per-class report and confusion
matrix of a classification run, and the coverage of pretrained embeddings.

MLflow artifacts of a classification run:
  class_report.json       the per-class table (MLflow `log_table`: class, precision,
                          recall, f1, support), shown in the run's Artifacts and
                          Evaluation views
  confusion_matrix.json   {"classes": [...], "confusion": [[...]]}, rows true classes
  confusion_matrix.png    the chart (rnnbench.tracking.confusion_plot)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnbench.training.class_report import report_table


def log_reports(tracker: Any, run_id: str, run_dir: Path, prepared: Any) -> None:
    embeddings = getattr(prepared, "embeddings", None)
    if embeddings is not None:
        tracker.log_metrics(run_id, embeddings.metrics())
        tracker.log_params(run_id, embeddings.params())
    class_report = getattr(prepared.system, "class_report", None)
    report = class_report.report() if class_report is not None else None
    if report is None:
        return
    from rnnbench.tracking.confusion_plot import confusion_png

    tracker.log_table(run_id, report_table(report), "class_report.json")
    tracker.log_json(
        run_id,
        {"classes": report["classes"], "confusion": report["confusion"]},
        "confusion_matrix.json",
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    tracker.log_artifact(
        run_id,
        confusion_png(report["confusion"], report["classes"], run_dir / "confusion_matrix.png"),
    )
