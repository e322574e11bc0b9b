"""What a task's model writes during a run: `Task.samples(sample, epoch)`, logged as text
artifacts under samples/ (and written to RUN_DIR/samples/).

The core calls it after every validation epoch of fit (epoch 1, 2, ...) and once more
with the best checkpoint's weights after the final evaluation (epoch None), on global
rank 0 only, and never while or after the training loss is non-finite. Tasks that do
not override `Task.samples` cost nothing: no callback is attached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.callbacks import Callback

from rnnbench.contract.errors import RnnbenchError
from rnnbench.contract.specs import Task

if TYPE_CHECKING:
    from rnnbench.training.prepared import PreparedRun

ARTIFACT_PATH = "samples"


def sampler_of(system: Any):
    """`sample(prime_ids, length, temperature=1.0, top_k=0, seed=0) -> ids` for a
    system's model and head, or a function that says why it cannot sample."""
    from rnnbench.training.sampling import Sampler

    codec = system.task.codec()
    if codec is None:

        def cannot(*args: Any, **kwargs: Any) -> list[int]:
            raise RnnbenchError(
                f"{type(system.task).__name__}.samples: sample() needs a "
                "task whose codec() returns a TokenCodec"
            )

        return cannot
    return Sampler(system.model, system.head, codec, stateful=system.stateful)


class TaskSamples(Callback):
    """Logs `task.samples(...)` after every validation epoch of fit; `final()` once more."""

    def __init__(self, system: Any, tracker: Any, run_id: str, folder: Path) -> None:
        self.system, self.tracker, self.run_id, self.folder = system, tracker, run_id, folder

    @classmethod
    def attach(
        cls, prepared: PreparedRun, tracker: Any, run_id: str, run_dir: Path
    ) -> list[TaskSamples]:
        """[the callback] when the run's task overrides Task.samples, else []."""
        if type(prepared.task).samples is Task.samples:
            return []
        return [cls(prepared.system, tracker, run_id, Path(run_dir) / ARTIFACT_PATH)]

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.state.fn != "fit":
            return
        self.write(trainer.current_epoch + 1)

    def final(self, diverged: bool) -> None:
        """The samples of the weights now in the system (the best checkpoint's)."""
        if not diverged:
            self.write(None)

    def write(self, epoch: int | None) -> None:
        if self.system.diverged:
            return  # non-finite weights or scores: nothing worth reading
        texts = self.system.task.samples(sampler_of(self.system), epoch)
        for name, text in texts.items():
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / name
            path.write_text(text, encoding="utf-8")
            self.tracker.log_artifact(self.run_id, path, ARTIFACT_PATH)
