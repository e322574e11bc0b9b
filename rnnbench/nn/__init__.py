"""Building blocks for model plugins, at one public import path:

    recurrent   input encoding, fused recurrences with packing, custom cell stacks,
                masks and pooling (rnnbench.nn.recurrent)
    init        the `init` / `init_scale` hyperparameters and what they do to a
                recurrent weight (rnnbench.nn.init)
    trees       level-by-level helpers for tree models (rnnbench.nn.trees)

Its names are `__all__` below (docs/guide/api.md lists them with their signatures).
"""

from rnnbench.nn.init import (
    IDENTITY_IS_FOR_ELMAN,
    INITS,
    PositiveParam,
    RefusingParam,
    init_fused_,
    init_params,
    init_recurrent_,
)
from rnnbench.nn.recurrent import (
    CellStack,
    FusedRecurrent,
    InputEncoder,
    drop_read_output,
    final_hidden,
    keep_state,
    length_mask,
    recurrent_params,
    reverse_padded,
    run_rnn,
)
from rnnbench.nn.trees import chain_trees, child_rows, levels, node_inputs, tree_output

__all__ = [
    "IDENTITY_IS_FOR_ELMAN",
    "INITS",
    "CellStack",
    "FusedRecurrent",
    "InputEncoder",
    "PositiveParam",
    "RefusingParam",
    "chain_trees",
    "child_rows",
    "drop_read_output",
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
