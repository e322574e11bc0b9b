"""Where results go: the Tracker interface (base), MLflow behind it (mlflow_tracker), the
Lightning logger that writes into a tracked run (run_logger), and the leaderboard built
from tracked runs alone (the leaderboard package: rows, text, files; stats, tables, figures),
with the expected-best curves of the search trials (expected_best, expected_best_report)
and the sweep's cost by model (cost).

Uses only rnnbench.contract. Importing this package does not import MLflow.
"""

from rnnbench.tracking.base import MemoryTracker, RunRecord, Tracker
from rnnbench.tracking.mlflow_tracker import MlflowTracker

__all__ = ["MemoryTracker", "MlflowTracker", "RunRecord", "Tracker"]
