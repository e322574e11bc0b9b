"""Trees (issue 18): PTB-bracket parsing and its errors, level-major collation, the tree
contract checks on the built-in tree models (and that they catch broken ones), the
treebank tasks, ListOps' trees, compatibility, and one sweep over tree and sequential
models."""

import json

import pytest
import torch

import rnnbench
from rnnbench.contract.registry import get_registry
from rnnbench.taskkit import TreePool, collate_trees, parse_ptb, read_ptb_file
from rnnbench.testing import ContractError, check_model_spec, check_task_spec

TRAIN = [
    "(3 (2 (2 The) (2 film)) (4 (3 is) (4 great)))",
    "(1 (1 Dull) (2 .))",
    "(4 Wonderful)",
    "(0 (1 (0 Awful) (2 ,)) (1 (2 truly) (1 bad)))",
    "(2 (2 It) (2 exists))",
    "(3 (3 Good) (2 fun))",
]
DEV = ["(4 (3 Great) (2 film))", "(0 (0 Bad) (2 film))", "(2 Fine)"]
TEST = ["(3 (3 Nice) (2 .))", "(1 (1 Weak) (2 plot))", "(0 Terrible)", "(4 (4 Superb) (2 !))"]


def treebank(tmp_path, train=TRAIN, dev=DEV, test=TEST):
    for name, lines in (("train", train), ("dev", dev), ("test", test)):
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def sst_task(folder, **options):
    spec = get_registry().task("sst")
    task = spec.factory(
        spec.options.resolve({"dataset": str(folder), **options}, "task"), batch_size=4, seed=0
    )
    task.prepare()
    return task


# ------------------------------------------------------------ parsing, collation
def test_ptb_trees_parse_in_pre_order_with_leaf_positions():
    tree = parse_ptb("(3 (2 (2 The) (2 film)) (4 great))", "x:1")
    assert tree.words == ["The", "film", "great"] and tree.label == [3, 2, 2, 2, 4]
    assert tree.children == [[1, 4], [2, 3], [], [], []]
    assert tree.token == [-1, -1, 0, 1, 2]


def test_collation_is_level_major_with_children_below_their_level():
    trees = [parse_ptb(line, "x") for line in TRAIN]
    pool = TreePool.build(trees)
    tree, src = collate_trees(pool, torch.tensor([3, 2, 0]))
    assert tree.offsets.tolist()[-1] == tree.num_nodes == 7 + 1 + 7
    assert (tree.level[1:] >= tree.level[:-1]).all()  # sorted by height
    start = tree.offsets[tree.level]  # (N,) first node of each node's level
    real = tree.children >= 0
    assert (tree.children[real] < start.unsqueeze(1).expand_as(real)[real]).all()
    assert tree.tree[tree.root].tolist() == [0, 1, 2] and tree.index[tree.root].tolist() == [0] * 3
    assert pool.label[src][tree.root].tolist() == [0, 4, 3]  # root labels of trees 3, 2, 0
    assert tree.level[tree.root[1]] == 0  # the single-leaf tree's root is a leaf


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "(3 (2 a) (2 b)))",
            "train.txt:2: unbalanced bracket: ')' at column 16 closes no open '('",
        ),
        ("(3 (2 a) (2 b)", "train.txt:2: unbalanced bracket: 1 '(' not closed"),
        ("(3 ((2 a) (2 b)))", "train.txt:2: node without a label (column 4"),
        ("(3 (x a) (2 b))", "train.txt:2: label 'x' is not an integer (column 5)"),
        ("(3 (7 a) (2 b))", "train.txt:2: label 7 is out of range (labels are 0..4)"),
        ("(3 (2 a b))", "train.txt:2: node (2) has more than one word"),
        (
            "(3 (2) (2 b))",
            "train.txt:2: node (2) closed at column 6 has neither a word nor children",
        ),
    ],
)
def test_bad_trees_are_one_line_errors_naming_file_and_line(tmp_path, line, message):
    folder = treebank(tmp_path, train=[TRAIN[0], line])
    with pytest.raises(rnnbench.DataError) as info:
        sst_task(folder)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_empty_file_is_an_error(tmp_path):
    (tmp_path / "blank.txt").write_text("\n  \n")
    with pytest.raises(rnnbench.DataError, match=r"blank.txt: no trees \(the file is empty\)"):
        read_ptb_file(tmp_path / "blank.txt")
    (tmp_path / "bank").mkdir()
    folder = treebank(tmp_path / "bank", dev=[])
    with pytest.raises(rnnbench.DataError, match="dev.txt: file is empty"):
        sst_task(folder)


# ----------------------------------------------------------------- tree models
# the built-in tree models pass check_model_spec (the tree checks) in test_models.py


def _broken(forward):
    class Broken(torch.nn.Module):
        def __init__(self, context):
            super().__init__()
            self.embedding = torch.nn.Embedding(context.vocab_size, 4, padding_idx=0)
            self.output_size = 4

        def forward(self, inputs, lengths, state=None, tree=None):
            return forward(self, inputs, lengths, tree)

    return rnnbench.ModelSpec(
        name="broken-tree",
        builder=Broken,
        inputs=frozenset({"tokens"}),
        outputs=frozenset({"pooled"}),
        needs=frozenset({"tree"}),
    )


def test_the_tree_checks_catch_batch_mixing_and_reading_padding():
    def mixes(self, inputs, lengths, tree):  # roots plus the batch mean: packing-dependent
        h = self.embedding(inputs).sum(1)  # (B, 4)
        return rnnbench.ModelOutput(pooled=h + h.mean(0))

    with pytest.raises(ContractError, match="alone and in a batch give different pooled"):
        check_model_spec(_broken(mixes))

    def reads_padding(self, inputs, lengths, tree):  # every position: id-0 padding adds 0, junk not
        return rnnbench.ModelOutput(pooled=self.embedding(inputs).sum(1))

    with pytest.raises(ContractError, match="tokens beyond `lengths` change the output"):
        check_model_spec(_broken(reads_padding))


def test_a_tree_model_needs_a_task_with_trees(cli):
    registry = get_registry()
    treelstm = registry.model("treelstm")
    assert rnnbench.compatibility(treelstm, registry.task("listops")) is None
    assert rnnbench.compatibility(treelstm, registry.task("sst")) is None
    reason = rnnbench.compatibility(treelstm, registry.task("copy"))
    assert reason == (
        "model 'treelstm' reads trees (batch['tree']), which task 'copy' does "
        "not provide; tasks with trees: those whose spec provides 'tree' "
        "(rnnbench list)"
    )
    code, _, err = cli("run", "--model", "recnn", "--task", "copy", "--no-track")
    assert code == 2 and "reads trees" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------- tasks
@pytest.mark.slow
def test_sst_task_contract_labels_and_baseline(tmp_path):
    folder = treebank(tmp_path)
    spec = get_registry().task("sst")
    for options in ({"labels": "fine"}, {"labels": "binary", "supervision": "phrases"}):
        check_task_spec(
            spec,
            {"dataset": str(folder), **options},
            batch_size=2,
            bad_options=[
                {"dataset": str(tmp_path / "none")},
                {"dataset": str(folder), "train_file": str(folder / "x")},
            ],
        )
    binary = sst_task(folder)  # neutral roots dropped: 5 of 6 training trees
    assert binary.sizes == {"train": 5, "validation": 2, "test": 4}
    assert binary.baseline() == 0.5  # training majority positive (3 of 5); test 2 of 4
    fine = sst_task(folder, labels="fine")
    assert fine.sizes["train"] == 6 and fine.num_classes == 5
    assert fine.baseline() == 0.25  # majority 3 (two of six; first in count order); test 1/4
    subsets = [sst_task(folder, labels="fine", max_train_samples=3) for _ in range(2)]
    assert subsets[0].sizes["train"] == 3  # a fixed random subset: the same for every run
    assert torch.equal(
        subsets[0].splits[0].tensors["target"], subsets[1].splits[0].tensors["target"]
    )


def test_phrase_supervision_scores_every_labelled_node_and_evaluates_roots(tmp_path):
    task = sst_task(treebank(tmp_path), labels="binary", supervision="phrases")
    batch = next(iter(task.datamodule.val_dataloader()))
    tree, labels = batch["tree"], batch["node_target"]
    logits = torch.randn(tree.num_nodes, 2)
    real = labels >= 0  # neutral phrases carry no binary label
    want = torch.nn.functional.cross_entropy(logits[real], labels[real])
    assert torch.allclose(task.loss(logits, batch), want)
    assert task.loss_weight(batch) == int(real.sum())
    metrics = task.metrics()
    task.update_metrics(metrics, logits, batch)
    roots = (logits[tree.root].argmax(1) == batch["target"]).float().mean()
    assert float(metrics["acc"].compute()) == pytest.approx(float(roots))


def test_generic_treebank_takes_its_classes_from_the_labels(tmp_path):
    folder = treebank(tmp_path, train=["(1 (0 a) (1 b))", "(0 c)"], dev=["(1 d)"], test=["(2 e)"])
    spec = get_registry().task("treebank")
    with pytest.raises(
        rnnbench.DataError,
        match=r"test.txt:1: label 2 is out of range "
        r"\(labels are 0..1\)",
    ):
        spec.factory(spec.options.resolve({"dataset": str(folder)}, "task"), 2, 0).prepare()
    task = spec.factory(
        spec.options.resolve({"dataset": str(folder), "num_classes": 3}, "task"), 2, 0
    )
    task.prepare()
    assert task.num_classes == 3 and task.context().max_children == 2


def test_listops_trees_match_its_tokens():
    spec = get_registry().task("listops")
    options = {"train_size": 16, "val_size": 8, "test_size": 8, "seq_len": 40}
    check_task_spec(spec, options, batch_size=4)
    task = spec.factory(spec.options.resolve(options, "task"), batch_size=4, seed=0)
    task.prepare()
    batch = next(iter(task.datamodule.val_dataloader()))
    tree, inputs = batch["tree"], batch["inputs"]
    tokens = inputs[tree.tree, tree.token]  # (N,) what each node reads
    leaves = tree.level == 0
    assert (tokens[leaves] <= 10).all() and (tokens[leaves] >= 1).all()  # digits
    assert (tokens[~leaves] >= 11).all() and (tokens[~leaves] <= 14).all()  # operators
    assert (tokens[tree.root] >= 11).all()  # every expression is an operator at the top
    assert task.context().max_children == 4


@pytest.mark.slow
def test_one_sweep_ranks_tree_and_sequential_models_on_listops_and_sst(cli, tmp_path):
    (tmp_path / "sst").mkdir()
    folder = treebank(tmp_path / "sst")
    config = tmp_path / "trees.yaml"
    config.write_text(f"""\
name: trees
models: [treelstm, recnn, lstm]
tasks: [listops, sst]
n_trials: 0
search_train: []
seeds: 1
pruner: none
train: {{max_epochs: 1, patience: 5, batch_size: 4}}
task_options:
  listops: {{seq_len: 30, train_size: 32, val_size: 16, test_size: 16}}
  sst: {{dataset: {folder}}}
model_params:
  treelstm: {{hidden_size: 6, embedding_dim: 4}}
  recnn: {{hidden_size: 6, embedding_dim: 4}}
  lstm: {{hidden_size: 6, embedding_dim: 4}}
""")
    code, out, err = cli(
        "sweep",
        "--config",
        str(config),
        "--results-dir",
        str(tmp_path / "results"),
        "--json",
        "--workers",
        "1",
    )
    assert code == 0, err
    rows = json.loads(out.strip().splitlines()[-1])["leaderboard"]
    assert {(r["task"], r["model"]) for r in rows} == {
        (t, m) for t in ("listops", "sst") for m in ("treelstm", "recnn", "lstm")
    }


@pytest.mark.slow
def test_the_readme_tree_model_example_passes_its_contract_and_trains(fake_plugin, cli, tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "docs/plugins/trees.md").read_text()
    code = re.search(r"```python\n(# my_package/my_tree_model.py\n.*?)```", readme, re.S).group(1)
    module = __import__(fake_plugin(code, dist="my-tree-model", entry_point="my_tree_model"))
    registry = get_registry(refresh=True)
    assert registry.problems == []
    check_model_spec(module.SPEC, {"hidden_size": 6})
    assert "reads trees" in rnnbench.compatibility(module.SPEC, registry.task("copy"))
    code, out, err = cli(
        "run",
        "--model",
        "sum-tree-rnn",
        "--task",
        "listops",
        "--set",
        "task.train_size=64",
        "--set",
        "task.val_size=32",
        "--set",
        "task.test_size=32",
        "--set",
        "task.seq_len=30",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--no-track",
        "--json",
    )
    assert code == 0, err
    assert "test_acc" in json.loads(out.strip().splitlines()[-1])["metrics"]
