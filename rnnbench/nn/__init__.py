"""Building blocks for model plugins, at one public import path:

    recurrent   input encoding, fused recurrences with packing, custom cell stacks,
                masks and pooling (rnnbench.nn.recurrent)
    gru         nn.GRU with its own recurrence where torch's CPU kernel is slow
                (rnnbench.nn.gru)
    init        the `init` / `init_scale` hyperparameters and what they do to a
                recurrent weight (rnnbench.nn.init)
    regularisers  AWD-LSTM's locked, embedding and weight-drop dropout, AR/TAR
                (rnnbench.nn.regularisers)
    trees       level-by-level helpers for tree models (rnnbench.nn.trees)

Its names are `__all__` below (docs/guide/api.md lists them with their signatures).
"""

from rnnbench._api import lazy_names

# where the names load from on first use (modules, not names: the names are __all__), so
# that `rnnbench.params` can use the torch-free `init` Params without importing torch
_SOURCES = (
    "rnnbench.nn.init",
    "rnnbench.params",
    "rnnbench.nn.recurrent",
    "rnnbench.nn.gru",
    "rnnbench.nn.regularisers",
    "rnnbench.nn.trees",
)

__all__ = [
    "GRU",
    "IDENTITY_IS_FOR_ELMAN",
    "INITS",
    "CellStack",
    "FusedRecurrent",
    "InputEncoder",
    "LockedDropout",
    "PositiveParam",
    "RefusingParam",
    "WeightDrop",
    "activation_regularisation",
    "chain_trees",
    "child_rows",
    "drop_read_output",
    "embedded_dropout",
    "final_hidden",
    "init_fused_",
    "init_params",
    "init_recurrent_",
    "keep_state",
    "length_mask",
    "levels",
    "node_inputs",
    "recurrent_params",
    "reverse_padded",
    "run_rnn",
    "tree_output",
]

__getattr__, __dir__ = lazy_names(__name__, __all__, _SOURCES)
