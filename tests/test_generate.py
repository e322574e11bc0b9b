"""`rnnbench generate` and the sample artifacts of language-modelling runs (Task.samples),
on tiny runs over a small text the tests write."""

import contextlib
import io
import json
import math

import pytest
import torch

import rnnbench
from rnnbench.contract.errors import ConfigError, RnnbenchError
from rnnbench.training.sampling import Sampler

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

HAIL, SERVE = ("long live", "hail", "see"), ("love", "serve", "fear")
TEXT = "".join(f"{HAIL[i % 3]} the king, and {SERVE[i // 3 % 3]} the queen.\n" for i in range(180))
TINY_LM = [
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "task.bptt=16",
    "--set",
    "train.batch_size=8",
    "--set",
    "train.lr=0.01",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "2",
    "--json",
]


def train(*args: str) -> str:
    """`rnnbench run ARGS`; returns the MLflow run id (outside the capsys fixture, so that
    module-scoped fixtures can train once)."""
    from rnnbench.cli import main
    from rnnbench.contract.registry import reset_registry

    reset_registry()
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["run", *args]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])["mlflow_run_id"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    corpus = root / "corpus.txt"
    corpus.write_text(TEXT)
    results = root / "results"
    common = ["--results-dir", str(results), "--set", f"task.dataset={corpus}", *TINY_LM]
    return {
        "results": results,
        "corpus": corpus,
        "char": train("--model", "lstm", "--task", "language-modelling", *common),
        "word": train(
            "--model",
            "gru",
            "--task",
            "language-modelling",
            *common,
            "--set",
            "task.level=word",
            "--set",
            "task.bptt=4",
        ),
        "adding": train(
            "--model",
            "rnn",
            "--task",
            "adding",
            "--results-dir",
            str(results),
            "--set",
            "task.seq_len=5",
            "--set",
            "task.train_size=32",
            "--set",
            "task.val_size=16",
            "--set",
            "task.test_size=16",
            "--set",
            "model.hidden_size=4",
            "--set",
            "train.progress=false",
            "--max-epochs",
            "1",
            "--json",
        ),
    }


def generate(cli, runs, *args):
    return cli("generate", "--results-dir", str(runs["results"]), *args)


def test_every_epoch_and_the_best_weights_log_a_sample(runs):
    from mlflow.tracking import MlflowClient

    folder = runs["results"] / "runs" / runs["char"] / "samples"
    assert sorted(p.name for p in folder.iterdir()) == [
        "sample.txt",
        "sample_epoch_1.txt",
        "sample_epoch_2.txt",
    ]
    client = MlflowClient(f"sqlite:///{runs['results'] / 'mlflow.db'}")
    logged = {a.path for a in client.list_artifacts(runs["char"], "samples")}
    assert logged == {
        "samples/sample.txt",
        "samples/sample_epoch_1.txt",
        "samples/sample_epoch_2.txt",
    }
    text = (folder / "sample.txt").read_text()
    prime = TEXT.splitlines(keepends=True)[0]  # the training text's first line
    assert text.startswith(prime) and len(text) == len(prime) + 200
    assert set(text) <= set(TEXT)
    # no samples for tasks that do not ask for them
    assert not (runs["results"] / "runs" / runs["adding"] / "samples").exists()


def test_generate_streams_the_runs_best_checkpoint(cli, runs):
    """At the artifact's settings, generate writes exactly the run's final sample: the
    model, the head and the best weights were rebuilt from the run's records alone."""
    code, out, err = generate(
        cli, runs, "--run", runs["char"], "--length", "200", "--temperature", "0.8", "--seed", "0"
    )
    assert code == 0, err
    sample = (runs["results"] / "runs" / runs["char"] / "samples" / "sample.txt").read_text()
    assert out == sample + "\n"


def test_draws_follow_the_seed_and_top_k_1_is_greedy(cli, runs):
    def draw(*args):
        code, out, err = generate(
            cli, runs, "--run", runs["char"], "--prime", "hail the", "--length", "40", *args
        )
        assert code == 0, err
        assert out.startswith("hail the") and len(out) == len("hail the") + 40 + 1
        return out

    assert draw("--seed", "1") == draw("--seed", "1")
    assert draw("--seed", "1") != draw("--seed", "2")
    greedy = draw("--top-k", "1", "--seed", "1")
    assert greedy == draw("--top-k", "1", "--seed", "2", "--temperature", "3")


def test_word_level_generation(cli, runs):
    code, out, err = generate(
        cli, runs, "--run", runs["word"], "--prime", "hail the king,", "--length", "30"
    )
    assert code == 0, err
    words = set(TEXT.split())
    rest = out[len("hail the king,") : -1]  # the drawn tokens; the last "\n" ends the output
    assert out.startswith("hail the king,") and set(rest.split()) <= words
    assert len(rest.split()) + rest.count("\n") == 30  # words and line ends (<eos>)
    code, out, err = generate(cli, runs, "--run", runs["word"], "--prime", "hail the emperor")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "rnnbench: error: --prime: word 'emperor' (token 3) is not in the run's vocabulary "
        "of 14 tokens"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "0"], "--temperature: must be a finite number > 0, got 0.0"),
        (["--temperature", "-1"], "--temperature: must be a finite number > 0, got -1.0"),
        (["--temperature", "nan"], "--temperature: must be a finite number > 0, got nan"),
        (["--top-k", "0"], "--top-k: must be >= 1 (the k most likely tokens), got 0"),
        (["--length", "0"], "--length: must be >= 1 token, got 0"),
        (
            ["--prime", "hail Zeus"],
            "--prime: character 'Z' (token 6) is not in the run's vocabulary of",
        ),
        (["--prime", ""], "--prime: empty; give at least one character"),
    ],
)
def test_bad_sampling_options_are_one_line_errors(cli, runs, args, message):
    code, out, err = generate(cli, runs, "--run", runs["char"], *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rnnbench: error: {message}"), err


def test_bad_runs_are_one_line_errors(cli, runs, tmp_path):
    results = runs["results"]
    uri = f"sqlite:///{results / 'mlflow.db'}"
    cases = [
        (generate(cli, runs, "--run", "0123abc"), f"--run 0123abc: no such run in {uri}"),
        (
            generate(cli, runs, "--run", runs["adding"]),
            f"--run {runs['adding']}: a run of task 'adding', which is not a language model",
        ),
        (
            cli(
                "generate",
                "--run",
                runs["char"],
                "--tracking-uri",
                uri,
                "--results-dir",
                str(tmp_path),
            ),
            f"--run {runs['char']}: no checkpoint under {tmp_path / 'runs' / runs['char']}",
        ),
        (
            cli("generate", "--run", runs["char"], "--results-dir", str(tmp_path)),
            f"--results-dir {tmp_path}: no mlflow.db there",
        ),
    ]
    for (code, out, err), message in cases:
        lines = err.strip().splitlines()
        assert code == 2 and out == "", err
        assert len(lines) == 1 and lines[0].startswith(f"rnnbench: error: {message}"), err
    assert not any(tmp_path.iterdir())  # nothing written


def test_changed_data_and_a_broken_checkpoint_are_one_line_errors(cli, runs):
    corpus, text = runs["corpus"], runs["corpus"].read_text()
    checkpoint = runs["results"] / "runs" / runs["char"] / "checkpoints" / "best.ckpt"
    weights = checkpoint.read_bytes()
    try:
        corpus.write_text(text + "hail the king.\n")  # the same characters
        code, _, err = generate(cli, runs, "--run", runs["char"])
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "the task's data changed since the run (data.train_tokens was" in err
        corpus.write_text(text)
        checkpoint.write_bytes(b"not a checkpoint")
        code, _, err = generate(cli, runs, "--run", runs["char"])
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert f"{checkpoint}: does not fit the model rebuilt from run" in err
    finally:
        corpus.write_text(text)
        checkpoint.write_bytes(weights)


# ------------------------------------------------------------- the sampler itself
class FixedLogits(torch.nn.Module):
    """A 'model' whose next-token scores are `logits` whatever it reads; records the
    windows it is given."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits))
        self.output_size = len(logits)
        self.seen = []

    def forward(self, inputs, lengths, state=None):
        self.seen.append((inputs.shape[1], state))
        sequence = self.logits.expand(inputs.shape[0], inputs.shape[1], -1)  # (B, T, V)
        return rnnbench.ModelOutput(sequence=sequence, state=len(self.seen))


def fixed_sampler(logits, stateful=True, window=3, never=frozenset({0})):
    codec = rnnbench.TokenCodec(tuple("_abc"[: len(logits)]), never=never, window=window)
    model = FixedLogits(logits)
    return Sampler(model, torch.nn.Identity(), codec, stateful=stateful), model


def test_draws_follow_the_tempered_distribution():
    """p(token) = softmax(logits / T) with padding removed: for logits (pad, 0, ln 3) the
    share of token 2 is 3/4 at T = 1 and 3^(1/2) / (1 + 3^(1/2)) = 0.634 at T = 2."""
    logits = [5.0, 0.0, math.log(3)]
    sampler, _ = fixed_sampler(logits)
    for temperature, expected in ((1.0, 0.75), (2.0, 3**0.5 / (1 + 3**0.5))):
        ids = sampler([1], 4000, temperature=temperature, seed=0)
        assert 0 not in ids
        assert sum(i == 2 for i in ids) / len(ids) == pytest.approx(expected, abs=0.025)
    ids = sampler([1], 500, top_k=1)
    assert set(ids) == {2}  # padding scores highest but is never drawn


def test_stateful_models_read_one_token_and_others_the_window():
    sampler, model = fixed_sampler([0.0, 1.0, 1.0, 1.0])
    sampler([1, 2, 3, 1, 2], 4)
    assert [t for t, _ in model.seen] == [5, 1, 1, 1]  # the prime once, then one token
    assert [s for _, s in model.seen] == [None, 1, 2, 3]  # the state carried
    sampler, model = fixed_sampler([0.0, 1.0, 1.0, 1.0], stateful=False, window=3)
    sampler([1, 2], 4)
    assert [t for t, _ in model.seen] == [2, 3, 3, 3] and {s for _, s in model.seen} == {None}


def test_sampling_leaves_the_global_rng_and_training_mode_alone():
    sampler, model = fixed_sampler([0.0, 1.0, 1.0, 1.0])
    model.train()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    sampler([1], 50, seed=3)
    assert torch.equal(torch.rand(3), expected) and model.training
    with pytest.raises(ConfigError, match="--top-k: must be >= 1"):
        sampler.stream([1], 5, top_k=-2)
    bad, _ = fixed_sampler([0.0, math.nan, 1.0, 1.0])
    with pytest.raises(RnnbenchError, match="scores are not finite"):
        bad([1], 5)


def test_word_codec_round_trip_and_errors():
    codec = rnnbench.TokenCodec(
        ("<pad>", "<unk>", "to", "be", "<eos>"), level="word", line_end="<eos>"
    )
    ids = codec.encode("to be\nbe  to")
    assert ids == [2, 3, 4, 3, 2]
    assert codec.decode(ids) == "to be\nbe to"
    assert "".join(codec.pieces([3, 2], at_line_start=False)) == " be to"
    with pytest.raises(ConfigError, match=r"--prime: word 'or' \(token 3\) is not in"):
        codec.encode("to be or not")
    with pytest.raises(ConfigError, match=r"word '<pad>' \(token 1\)"):
        codec.encode("<pad> to")  # padding is never a token of the text


def test_the_readme_generative_task_example_runs():
    """The plugin tutorial's codec()/samples() example, grafted onto a tiny vocabulary."""
    import re
    import types
    from pathlib import Path

    from rnnbench.taskkit import Vocabulary

    readme = (Path(__file__).resolve().parents[1] / "docs/plugins/generative.md").read_text()
    code = re.search(
        r"```python\n(import rnnbench\n+class MyLanguageModel.*?)```", readme, re.S
    ).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/plugins/generative.md", "exec"), namespace)
    cls = namespace["MyLanguageModel"]
    task = types.SimpleNamespace(vocab=Vocabulary(["<pad>", "<unk>", *"Firstlen \n"]), bptt=8)
    task.codec = lambda: cls.codec(task)
    codec = task.codec()
    assert codec.encode("First line\n") == [2, 3, 4, 5, 6, 10, 7, 3, 9, 8, 11]

    def sample(prime_ids, length, temperature=1.0, top_k=0, seed=0):
        return (prime_ids * length)[:length]

    texts = cls.samples(task, sample, 3)
    assert list(texts) == ["sample_epoch_3.txt"]
    assert texts["sample_epoch_3.txt"].startswith("First line\nFirst line\n")
    assert list(cls.samples(task, sample, None)) == ["sample.txt"]
