"""A trained run's input embeddings as a word2vec text file (`rnnbench export-embeddings`).

A finished run leaves `RESULTS/runs/RUN_ID/result.json` (its settings: `hparams`, the
flat model.* / task.* / train.* values) and `checkpoints/best.ckpt` (the weights that
scored best on validation). The export rebuilds the run's task (from the prepared-data
cache when warm) and model from those settings, on the CPU, loads the best weights,
finds the input nn.Embedding (rnnbench.training.embeddings.find_embedding) and writes

    N E                         header: vectors, dimension
    TOKEN v_1 ... v_E           one line per vocabulary token (Task.vocabulary())

leaving out the padding id and tokens that the format cannot hold (empty or with
whitespace, e.g. the space of a character-level vocabulary). Values are written
with 9 significant digits, which reproduce float32 exactly, so the file reloads
(`train.embeddings=OUT`) to the same tensor. OUT is written beside and renamed: an
error leaves nothing; a name ending in .gz is gzipped.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, IncompatibleError, RnnbenchError
from rnnbench.contract.vocabulary import task_vocabulary


@dataclass
class Exported:
    path: Path
    vectors: int
    dim: int
    skipped: list[str]  # tokens left out (padding and unwritable ones)


def run_settings(results_dir: Path, run_id: str) -> tuple[dict[str, Any], Path]:
    """(the run's flat hparams, its best checkpoint)."""
    folder = Path(results_dir) / "runs" / run_id
    result = folder / "result.json"
    if not result.is_file():
        raise ConfigError(f"--run {run_id}: no {result} (a finished run writes it; is "
                          "--results-dir the folder the run used?)")
    try:
        hparams = json.loads(result.read_text())["hparams"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{result}: not a run result with its settings ({exc})") from None
    best = folder / "checkpoints" / "best.ckpt"
    if not best.is_file():
        raise ConfigError(f"--run {run_id}: no best checkpoint {best} (sweep trials keep none; "
                          "export a single run or a sweep's final seed)")
    return hparams, best


def rebuild_config(hparams: dict[str, Any], results_dir: Path, registry: Any) -> Any:
    """The run's RunConfig on the CPU; settings added since the run take their defaults."""
    from rnnbench.training.config import TRAIN_PARAMS, RunConfig

    model_spec, task_spec = registry.model(hparams["model"]), registry.task(hparams["task"])

    def part(prefix: str, params: Any) -> dict[str, Any]:
        given = {k[len(prefix) + 1:]: v for k, v in hparams.items() if k.startswith(prefix + ".")}
        return {**params.defaults(), **{k: v for k, v in given.items() if k in params}}

    train = part("train", TRAIN_PARAMS)
    train.update(accelerator="cpu", devices="1", strategy="auto", progress=False,
                 diagnostics="none", precision="32-true")
    return RunConfig(model=hparams["model"], task=hparams["task"],
                     model_params=part("model", model_spec.params),
                     task_options=part("task", task_spec.options), train=train,
                     results_dir=Path(results_dir))


def export_embeddings(results_dir: Path, run_id: str, out: Path, registry: Any) -> Exported:
    import torch

    from rnnbench.training.embeddings import find_embedding
    from rnnbench.training.runner import prepare

    hparams, best = run_settings(results_dir, run_id)
    config = rebuild_config(hparams, results_dir, registry)
    if registry.task(config.task).input_kind != "tokens":
        raise IncompatibleError(f"--run {run_id}: task {config.task!r} has no token inputs, "
                                "hence no input embeddings")
    prepared = prepare(config, registry)
    tokens = task_vocabulary(prepared.task)
    if tokens is None:
        raise IncompatibleError(f"--run {run_id}: task {config.task!r} does not list its "
                                "vocabulary (Task.vocabulary(); rnnbench.contract.vocabulary)")
    try:
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        prepared.system.load_state_dict(state)
    except Exception as exc:
        raise RnnbenchError(f"{best}: cannot be loaded into the rebuilt {config.model!r} "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    weight = find_embedding(prepared.system.model, prepared.model_spec, len(tokens)).weight
    padding = prepared.task.context().padding_idx
    return write_vectors(out, tokens, weight.detach().float().cpu(), padding)


def write_vectors(out: Path, tokens: list[str], weight: Any, padding_idx: int | None) -> Exported:
    """Write (V, E) `weight` with `tokens` in the text format (see the module docstring)."""
    keep = [i for i, t in enumerate(tokens)
            if i != padding_idx and t and not any(c.isspace() for c in t)]
    skipped = [tokens[i] for i in range(len(tokens)) if i not in set(keep)]
    rows = weight[keep].numpy()  # (N, E)
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    try:
        opener = gzip.open if out.name.endswith(".gz") else open
        with opener(partial, "wt", encoding="utf-8", newline="\n") as fh:
            fh.write(f"{len(keep)} {rows.shape[1]}\n")
            for i, row in zip(keep, rows, strict=True):
                fh.write(tokens[i] + " " + " ".join(f"{v:.9g}" for v in row.tolist()) + "\n")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"{out}: cannot be written ({exc.strerror or exc})") from None
    return Exported(out, len(keep), int(rows.shape[1]), skipped)
