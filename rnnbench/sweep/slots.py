"""The global trial cap: at most n_trials finished trials per study, across all workers.

Contract: a worker claims a slot under the study's storage lock. Under the lock it
takes ONE snapshot of the study's trials (a single `get_trials` read), counts the slots
already taken in that snapshot, and, if one is free, lets Optuna create the trial
(`study.optimize(n_trials=1)` asks for a new trial or pops a WAITING one) before the
lock is released. The next worker's snapshot therefore already holds that trial.

Why one snapshot: other workers finish their trials without the lock, so a trial can
move from RUNNING to COMPLETE between two reads. Counting finished trials in one read
and running ones in another (as `Sweep.claimed` did: `finished()` + a second
`get_trials()`) misses such a trial in both and under-counts by one, and the worker then
creates trial n+1 (seen on SQLite: 9 of 8). Optuna's `_CachedStorage` re-reads every
unfinished trial and every newer trial in one query, so a single `get_trials` call is a
consistent picture of the study.

Works with any objective (a stress test drives it with a sleep), and knows nothing about
training, MLflow or the sweep's configuration.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rnnbench.contract.errors import Interrupted
from rnnbench.sweep.locking import StorageLock


def counts_toward_cap(trial: Any) -> bool:
    """Complete, pruned, or failed by the objective (its `error` user attribute set).
    A trial failed by a stale heartbeat is retried as a WAITING copy, so it does not
    count: its copy does."""
    from optuna.trial import TrialState

    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and "error" in trial.user_attrs
    )


@dataclass(frozen=True)
class SlotCount:
    """Slots of one snapshot: `finished` count toward n_trials; `running` and `waiting`
    are trials that will finish (or be retried) and hold their slot until then."""

    finished: int
    running: int
    waiting: int
    total: int  # every trial in the snapshot, retried ones included

    @property
    def claimed(self) -> int:
        return self.finished + self.running + self.waiting

    @classmethod
    def of(cls, trials: Sequence[Any]) -> SlotCount:
        from optuna.trial import TrialState

        return cls(
            finished=sum(1 for t in trials if counts_toward_cap(t)),
            running=sum(1 for t in trials if t.state == TrialState.RUNNING),
            waiting=sum(1 for t in trials if t.state == TrialState.WAITING),
            total=len(trials),
        )


def snapshot(study: Any) -> SlotCount:
    """The study's slots from one read of its trials."""
    return SlotCount.of(study.get_trials(deepcopy=False))


class Claim(enum.Enum):
    RAN = "ran"  # a slot was free: one trial was run (it may have failed or been pruned)
    BUSY = "busy"  # every slot is taken but some trial is still running: look again later
    FULL = "full"  # n_trials finished and nothing running or waiting: the study is final


class TrialSlots:
    """Claims trial slots of one study under `lock`, so that n_trials is a global cap.

    before_claim(study): run under the lock before the snapshot (e.g. failing stale
    trials, which turns a dead worker's trial into a WAITING copy).
    before_trial(study, position): run under the lock once a slot is free; `position`
    is the number of trials in the snapshot (trials are created one at a time under the
    lock, so it is the new trial's number unless a WAITING trial is popped).
    """

    def __init__(
        self,
        lock: StorageLock,
        n_trials: int,
        before_claim: Callable[[Any], None] | None = None,
        before_trial: Callable[[Any, int], None] | None = None,
    ) -> None:
        self.lock = lock
        self.n_trials = n_trials
        self.before_claim = before_claim
        self.before_trial = before_trial

    def run_one(
        self,
        study: Any,
        objective: Callable[[Any], float],
        callbacks: Iterable[Callable[[Any, Any], None]] = (),
        catch: tuple[type[Exception], ...] = (Exception,),
    ) -> Claim:
        """Claim a slot and run `objective` in it, or say why not (BUSY, FULL)."""
        self.lock.acquire()
        try:
            if self.before_claim is not None:
                self.before_claim(study)
            count = snapshot(study)
            if count.claimed >= self.n_trials and count.waiting == 0:
                return Claim.FULL if count.running == 0 else Claim.BUSY
            if self.before_trial is not None:
                self.before_trial(study, count.total)

            def in_slot(trial) -> float:
                # Optuna has created (or popped) and committed this trial: every later
                # snapshot holds it, so the next worker may claim.
                self.lock.release()
                try:
                    return objective(trial)
                except Interrupted:
                    # Optuna lets this BaseException pass without telling the storage:
                    # the trial ends FAIL here, never left RUNNING. Without an `error`
                    # attribute it does not count toward n_trials (a re-run redoes it).
                    from optuna.trial import TrialState

                    trial.set_user_attr("reason", "interrupted")
                    study.tell(trial, state=TrialState.FAIL)
                    raise

            study.optimize(
                in_slot, n_trials=1, catch=catch, callbacks=list(callbacks), gc_after_trial=False
            )
            return Claim.RAN
        finally:
            self.lock.release()  # idempotent: a no-op once in_slot released it
