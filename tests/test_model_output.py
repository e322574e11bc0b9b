"""ModelOutput: three fields; the dropped `hidden` field still loads old plugins, with a warning."""

import pickle
import warnings

import pytest
import torch

from rnnbench import ModelContext, ModelOutput
from rnnbench.contract.registry import get_registry


def test_fields_are_sequence_pooled_state():
    out = ModelOutput(sequence=1, pooled=2, state=3)
    assert out._fields == ("sequence", "pooled", "state")
    assert tuple(out) == (1, 2, 3)
    assert out._replace(pooled=5) == (1, 5, 3)
    assert pickle.loads(pickle.dumps(out)) == out


def test_hidden_from_an_old_plugin_warns_and_is_dropped():
    with pytest.warns(DeprecationWarning, match=r"ModelOutput\(hidden=\.\.\.\) is deprecated"):
        by_keyword = ModelOutput(pooled=2, hidden=torch.zeros(1))
    with pytest.warns(DeprecationWarning, match="removed in rnnbench 0.3"):
        positional = ModelOutput(1, 2, 3, torch.zeros(1))
    assert tuple(by_keyword) == (None, 2, None) and tuple(positional) == (1, 2, 3)
    with pytest.warns(DeprecationWarning, match="forward_unrolled"):
        assert by_keyword.hidden is None


def test_no_builtin_model_passes_the_deprecated_field():
    registry = get_registry()
    builtins = [
        name for name, (_, src) in registry.models.items() if src.distribution == "rnnbench"
    ]
    assert builtins
    for name in builtins:
        spec = registry.model(name)
        defaults = spec.params.defaults()
        small = {k: v for k, v in {"hidden_size": 4, "embedding_dim": 4}.items() if k in defaults}
        for kind in sorted(spec.inputs):
            for output in sorted(spec.outputs - {"seq2seq"}):  # seq2seq: test_seq2seq.py
                context = ModelContext(
                    input_kind=kind,
                    output=output,
                    vocab_size=7,
                    padding_idx=0,
                    feature_size=3 if kind == "features" else None,
                )
                model = spec.builder(context, **{**defaults, **small})
                inputs = torch.ones(2, 5, 3) if kind == "features" else torch.ones(2, 5).long()
                with warnings.catch_warnings():
                    warnings.simplefilter("error", DeprecationWarning)
                    model(inputs, torch.tensor([5, 3]))
