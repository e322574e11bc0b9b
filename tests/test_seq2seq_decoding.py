"""Greedy and beam decoding against brute force: special ids are never emitted, and a
beam at least as wide as every hypothesis finds the best length-normalised one, also
when the width K exceeds the target vocabulary."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnbench.contract.seq2seq import Seq2SeqTarget
from rnnbench.training.decoding import beam_decode, greedy_decode

# ids: pad 0, ordinary 1 and 2, BOS 3, EOS 4
SPEC = Seq2SeqTarget(vocab_size=5, bos_id=3, eos_id=4, padding_idx=0, max_length=3)


class HistoryModel(torch.nn.Module):
    """A decoder whose step features depend on the source row and every token fed so
    far (a GRU cell), so hypotheses of one example score differently."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(5, 6)
        self.cell = torch.nn.GRUCell(6, 6)
        self.start = torch.nn.Embedding(4, 6)  # source row -> s_0
        self.output_size = 6

    def encode(self, inputs, lengths):
        return self.start(inputs[:, 0])  # (B, 6)

    def decode_step(self, tokens, h):
        h = self.cell(self.embed(tokens), h)  # (N, 6)
        return h, h

    def select_state(self, h, index):
        return h.index_select(0, index)


def _head():
    torch.manual_seed(1)
    head = torch.nn.Linear(6, 5)
    with torch.no_grad():
        head.bias[SPEC.padding_idx] += 3.0  # pad and BOS would win if they could be picked
        head.bias[SPEC.bos_id] += 3.0
    return head


def _allowed_logp(head, features):
    logits = head(features)
    logits[:, [SPEC.padding_idx, SPEC.bos_id]] = -torch.inf
    return logits.log_softmax(-1)  # (N, V)


@torch.no_grad()
def _brute_force(model, head, source):
    """The best hypothesis by log-probability per token over every sequence of ordinary
    ids ending in EOS within max_length tokens, or max_length ordinary ids."""
    real = [i for i in range(SPEC.vocab_size) if i not in (0, SPEC.bos_id, SPEC.eos_id)]
    candidates = [
        list(p) + [SPEC.eos_id]
        for n in range(SPEC.max_length)
        for p in itertools.product(real, repeat=n)
    ]
    candidates += [list(p) for p in itertools.product(real, repeat=SPEC.max_length)]
    best, best_score = None, -torch.inf
    for hyp in candidates:  # 15 of them
        state, token, total = model.encode(source, None), SPEC.bos_id, 0.0
        for y in hyp:
            features, state = model.decode_step(torch.tensor([token]), state)
            total += float(_allowed_logp(head, features)[0, y])
            token = y
        if total / len(hyp) > best_score:
            best, best_score = hyp, total / len(hyp)
    return best


def test_decoding_never_emits_padding_or_bos():
    model, head = HistoryModel(), _head()
    source = torch.tensor([[0], [1], [2], [3]])
    for tokens, lengths in (
        greedy_decode(model, head, source, torch.ones(4), SPEC),
        beam_decode(model, head, source, torch.ones(4), SPEC, 3),
    ):
        for row, n in zip(tokens.tolist(), lengths.tolist(), strict=True):
            assert not set(row[:n]) & {SPEC.padding_idx, SPEC.bos_id}, tokens


@pytest.mark.parametrize("width", [15, 50])  # 15: all 3-step candidates fit; 50 > V = 5
def test_a_wide_beam_finds_the_best_length_normalised_hypothesis(width):
    model, head = HistoryModel(), _head()
    source = torch.tensor([[0], [1], [2], [3]])
    tokens, lengths = beam_decode(model, head, source, torch.ones(4), SPEC, width)
    for i in range(4):
        want = _brute_force(model, head, source[i : i + 1])
        assert tokens[i, : int(lengths[i])].tolist() == want


def test_a_seq2seq_synthetic_task_without_its_own_baseline_reports_none():
    from rnnbench.taskkit import SyntheticTask, TokenSequences, pad_sequences

    class Echo(SyntheticTask):
        output = "seq2seq"

        def __init__(self, options, batch_size, seed):
            super().__init__(options, batch_size, seed)
            self.objective = TokenSequences(vocab_size=5, eos_id=4, pad=0)

        def generate(self, n, seed):
            rows = [[1 + (i + seed) % 2] * (1 + i % 3) for i in range(n)]
            inputs, lengths = pad_sequences(rows, 0)
            target, target_lengths = pad_sequences([r + [4] for r in rows], 0)
            return {
                "inputs": inputs,
                "lengths": lengths,
                "target": target,
                "target_lengths": target_lengths,
            }

        def context(self):
            raise AssertionError("not needed for the baseline")

    # the pooled default would score training targets (8 rows) as hypotheses of the
    # test targets (6 rows): a crash, or with equal sizes a number that means nothing
    task = Echo({"train_size": 8, "val_size": 4, "test_size": 6}, 4, 0)
    assert task.baseline() is None
