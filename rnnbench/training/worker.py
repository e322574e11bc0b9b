"""A rank that Lightning's DDP strategy re-launched: rebuild the published run, train its
shard, exit (see rnnbench.training.distributed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rnnbench.training.distributed import ENV


def run_worker() -> int:
    """Entry point of a re-launched rank: train the published run's shard, then exit."""
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import RunConfig
    from rnnbench.training.runner import prepare
    from rnnbench.training.setup import quiet_libraries
    from rnnbench.training.trainer import make_trainer

    quiet_libraries()  # rank 0's filters: a rank's stderr is the command's stderr
    payload = json.loads(os.environ[ENV])
    config = RunConfig(**payload["config"])  # RunConfig.to_dict() of rank 0's run
    prepared = prepare(config, get_registry())
    trainer, _ = make_trainer(prepared, Path(payload["run_dir"]), logger=False, callbacks=[])
    trainer.fit(
        prepared.system, datamodule=prepared.task.datamodule, ckpt_path=payload["resume_from"]
    )
    # Leave the process group before exiting, as rank 0 does (distributed.launch_context):
    # a group torn down by the interpreter's exit can abort the process ("terminate called
    # without an active exception"), and Lightning's child-process observer then kills
    # every rank, the sweep's own process included, with SIGKILL.
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    return 0
