"""Contract checks for plugin authors to call from their own test suites.

    from rnnbench.testing import check_model_spec, check_task_spec
    def test_my_model_contract():
        check_model_spec(MY_SPEC, hparams={"hidden_size": 16})
    def test_my_task_contract():
        check_task_spec(MY_TASK, {"train_size": 64}, bad_options=[{"seq_len": 0}])

Each check raises `ContractError` (an AssertionError) naming the spec, the input
kind and the broken promise.
"""

from rnnbench.testing.models import ContractError, check_model_spec, check_step_states
from rnnbench.testing.tasks import check_task_spec
from rnnbench.testing.trees import check_tree_model_spec, random_trees, tree_batches


def __getattr__(name: str):
    if name == "check_seq2seq_model":  # imports torch: loaded on first use
        from rnnbench.testing.seq2seq import check_seq2seq_model

        return check_seq2seq_model
    raise AttributeError(f"module 'rnnbench.testing' has no attribute {name!r}")


__all__ = ["ContractError", "check_model_spec", "check_seq2seq_model", "check_step_states",
           "check_task_spec", "check_tree_model_spec", "random_trees", "tree_batches"]
