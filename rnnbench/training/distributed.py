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
from pathlib import Path

ENV = "RNNBENCH_DDP_RUN"
LAUNCH_VARS = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "NODE_RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "PL_GLOBAL_SEED",
    ENV,
)


def is_worker() -> bool:
    return ENV in os.environ and int(os.environ.get("LOCAL_RANK", "0")) > 0


@contextmanager
def launch_context(config, run_dir: Path, resume_from: Path | None):
    """Publish the run for the re-launched ranks; afterwards restore the environment,
    so that the next trial in this process launches its own ranks again."""
    saved = {k: os.environ.get(k) for k in LAUNCH_VARS}
    payload = {
        "config": config.to_dict(),
        "run_dir": str(run_dir),
        "resume_from": str(resume_from) if resume_from else None,
    }
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
