"""Contract checks for plugin authors to call from their own test suites.

    from rnnbench.testing import check_model_spec, check_task_spec
    def test_my_model_contract():
        check_model_spec(MY_SPEC, hparams={"hidden_size": 16})
    def test_my_task_contract():
        check_task_spec(MY_TASK, {"train_size": 64}, bad_options=[{"seq_len": 0}])

Each check raises `ContractError` (an AssertionError) naming the spec, the input
kind and the broken promise.
"""

from rnnbench._api import lazy_names
from rnnbench.testing.inputs import ContractError
from rnnbench.testing.models import check_model_spec, check_step_states
from rnnbench.testing.tasks import check_task_spec
from rnnbench.testing.trees import check_tree_model_spec, random_trees, tree_batches

__all__ = [
    "ContractError",
    "check_model_spec",
    "check_seq2seq_model",
    "check_step_states",
    "check_task_spec",
    "check_tree_model_spec",
    "random_trees",
    "tree_batches",
]

# check_seq2seq_model imports torch: loaded on first use
__getattr__, __dir__ = lazy_names(__name__, __all__, ("rnnbench.testing.seq2seq",))
