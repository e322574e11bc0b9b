"""TextRNN for text classification (Liu, Qiu & Huang 2016, "Recurrent Neural Network
for Text Classification with Multi-Task Learning", the single-task model).

    e_t = E[w_t]                                  (B, T, E)
    →h_t, ←h_t = BiLSTM(e)                        (B, T, H) each
    v = [→h_{len} ; ←h_1]                         (B, 2H)   final states at each true length
    (the task's head maps v to class scores)
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext, ModelOutput
from rnnbench.nn import InputEncoder, final_hidden, run_rnn


class TextRNN(nn.Module):
    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
    ):
        super().__init__()
        self.encoder = InputEncoder(context, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            self.encoder.output_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_size = 2 * hidden_size

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None) -> ModelOutput:
        x = self.dropout(self.encoder(inputs))  # (B, T, E)
        # the final states only: TextRNN never reads the padded output sequence
        _, (h_n, _) = run_rnn(self.lstm, x, lengths, sequence=False)  # (layers*2, B, H)
        pooled = final_hidden(h_n, bidirectional=True)  # (B, 2H)
        return ModelOutput(pooled=self.dropout(pooled))


def build_textrnn(
    context: ModelContext,
    embedding_dim: int = 128,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.3,
) -> TextRNN:
    return TextRNN(context, embedding_dim, hidden_size, num_layers, dropout)
