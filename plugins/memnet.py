"""The end-to-end memory network's plugin (Sukhbaatar et al. 2015): spec and hyperparameters.
The model is in rnnbench_models.memnet_model, imported when it is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, ModelContext, ModelSpec, Param, ParamSet, hookimpl


def build_memnet(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.memnet_model.build_memnet` (torch loads here)."""
    from rnnbench_models.memnet_model import build_memnet

    return build_memnet(task_context, **hparams)


MEMNET = ModelSpec(
    name="memnet",
    builder=build_memnet,
    params=ParamSet(
        (
            Param(
                "embedding_dim",
                int,
                64,
                "memory/query size d",
                minimum=1,
                space=Choice((32, 64, 128)),
            ),
            Param("hops", int, 3, "memory hops K", minimum=1, space=Choice((1, 2, 3))),
            Param(
                "memory_size",
                int,
                50,
                "newest memories kept (words, for language modelling)",
                minimum=1,
                space=Choice((20, 50, 100)),
            ),
            Param(
                "window",
                int,
                4,
                "tokens per memory when the task gives no sentences",
                minimum=1,
                space=Choice((2, 4, 8)),
            ),
            Param(
                "linear_start_steps", int, 0, "training steps without softmax (0: off)", minimum=0
            ),
        )
    ),
    inputs=frozenset({"tokens"}),
    outputs=frozenset({"sequence", "pooled"}),
    causal=True,
    stateful=True,
    description="End-to-end memory network: K hops, position + temporal encoding",
    reference="Sukhbaatar, Szlam, Weston & Fergus 2015",
    width="embedding_dim",
)


@hookimpl
def register_models(register):
    register(MEMNET)


#: names of rnnbench_models.memnet_model also readable here (loaded on first use)
MODEL_NAMES = ("LM_QUERY", "position_encoding", "MemN2N")


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.memnet_model"), name)
