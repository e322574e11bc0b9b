"""Multi-device trials with Lightning's DDP, sampled and tracked exactly once.

Lightning's `ddp` strategy re-launches the command line on every extra local rank.
rnnbench makes those re-launched processes *workers*: before `fit`, rank 0 puts the
run's resolved configuration in the environment (RNNBENCH_DDP_RUN); a process started
with it and LOCAL_RANK > 0 rebuilds the same run, trains its shard, and exits without
sampling hyperparameters or writing to MLflow or Optuna. After `fit`, rank 0 alone
evaluates the best checkpoint on one device, so every validation and test example is
counted exactly once (no padding from a distributed sampler).
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

ENV = "RNNBENCH_DDP_RUN"
LAUNCH_VARS = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE",
               "PL_GLOBAL_SEED", ENV)


def is_distributed(train: dict[str, Any]) -> bool:
    from rnnbench.runner import parse_devices

    devices = parse_devices(train["devices"])
    many = (isinstance(devices, int) and devices > 1) or (isinstance(devices, list) and len(devices) > 1)
    return many or train["strategy"].startswith("ddp")


def is_worker() -> bool:
    return ENV in os.environ and int(os.environ.get("LOCAL_RANK", "0")) > 0


@contextmanager
def launch_context(config, run_dir: Path, resume_from: Path | None):
    """Publish the run for the re-launched ranks; afterwards restore the environment,
    so that the next trial in this process launches its own ranks again."""
    saved = {k: os.environ.get(k) for k in LAUNCH_VARS}
    payload = {"config": asdict(config), "run_dir": str(run_dir),
               "resume_from": str(resume_from) if resume_from else None}
    os.environ[ENV] = json.dumps(payload, default=str)
    try:
        yield
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_worker() -> int:
    """Entry point of a re-launched rank: train the published run's shard, then exit."""
    from rnnbench.config import RunConfig
    from rnnbench.registry import get_registry
    from rnnbench.runner import make_trainer, prepare

    payload = json.loads(os.environ[ENV])
    config = RunConfig(**{**payload["config"], "results_dir": Path(payload["config"]["results_dir"])})
    prepared = prepare(config, get_registry())
    trainer, _ = make_trainer(prepared, Path(payload["run_dir"]), logger=False, callbacks=[])
    trainer.fit(prepared.system, datamodule=prepared.task.datamodule,
                ckpt_path=payload["resume_from"])
    return 0


def shard(world: int, rank: int, items: list) -> list:
    """Rank `rank`'s share of `items` (round robin), cut so every rank gets as many."""
    per_rank = len(items) // world
    return items[rank::world][:per_rank]
