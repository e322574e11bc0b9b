"""The LSTM family's plugin: its spec and hyperparameters. The nn.Modules and the
equations (vanilla on torch's fused `nn.LSTM`, Greff et al. 2017's variants on a custom
cell) are in rnnbench_models.lstm_model, imported when a model is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.params import init_params, recurrent_params

#: variant -> (gate blocks in the projections, peephole gates, input act, output act,
#:            full gate recurrence). Blocks: i input, f forget, g block input, o output;
#:            "cifg"/"coupled" compute f and set i = 1 - f.
CELLS: dict[str, tuple[str, str, bool, bool, bool]] = {
    "peephole": ("ifgo", "ifo", True, True, False),
    "nig": ("fgo", "fo", True, True, False),
    "nfg": ("igo", "io", True, True, False),
    "nog": ("ifg", "if", True, True, False),
    "niaf": ("ifgo", "ifo", False, True, False),
    "noaf": ("ifgo", "ifo", True, False, False),
    "cifg": ("fgo", "fo", True, True, False),
    "fgr": ("ifgo", "ifo", True, True, True),
    "coupled": ("fgo", "", True, True, False),
}
COUPLED = ("cifg", "coupled")
FUSED = ("vanilla", "np")
VARIANTS = (*FUSED, *CELLS)


def build_lstm(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.lstm_model.build_lstm` (torch loads here)."""
    from rnnbench_models.lstm_model import build_lstm

    return build_lstm(task_context, **hparams)


LSTM = ModelSpec(
    name="lstm",
    builder=build_lstm,
    params=ParamSet(
        (
            *recurrent_params(),
            Param("bidirectional", bool, False, "read the sequence both ways (not causal)"),
            Param("forget_bias", float, 1.0, "initial forget-gate bias", space=Choice((0.0, 1.0))),
            Param(
                "variant",
                str,
                "vanilla",
                "vanilla (fused, = Greff's NP; alias np), peephole (Greff's vanilla), nig, nfg, "
                "nog, niaf, noaf, cifg, fgr (Greff et al. 2017), coupled (CIFG without "
                "peepholes); searched by default: vanilla, peephole, coupled",
                choices=VARIANTS,
                space=Choice(("vanilla", "peephole", "coupled")),
            ),
            *init_params(refuse_identity=True),
        )
    ),
    causal=lambda hp: not hp.get("bidirectional", False),
    stateful=True,
    hidden_states=lambda hp: not hp.get("bidirectional", False),
    description="LSTM: fused nn.LSTM, or one of Greff et al.'s variants (custom cell)",
    reference="Hochreiter & Schmidhuber 1997; Gers et al. 2000; Jozefowicz et al. 2015; "
    "Greff et al. 2017; Saxe et al. 2014 (orthogonal)",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(LSTM)


#: names of rnnbench_models.lstm_model also readable here (loaded on first use)
MODEL_NAMES = ("VariantLSTMLayer", "VariantLSTM", "FusedRecurrent")


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.lstm_model"), name)
