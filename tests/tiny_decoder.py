"""A small decoder built from plain torch.nn layers, to measure what chapter 1 estimates.

It has the layers a :class:`ModelConfig` describes (so its parameters, state dict, optimizer
state, saved activations and FLOPs can be measured) but no rotary embeddings: they have no
parameters, and chapter 3's model is the course's real implementation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.config import ModelConfig


def norm(config: ModelConfig) -> nn.Module:
    if config.norm == "layernorm":
        return nn.LayerNorm(config.d_model, eps=config.norm_eps)
    return nn.RMSNorm(config.d_model, eps=config.norm_eps)


class Attention(nn.Module):
    def __init__(self, config: ModelConfig, dropout: float, flash_attention: bool):
        super().__init__()
        self.config, self.dropout, self.flash_attention = config, dropout, flash_attention
        q_width = config.n_heads * config.head_dim
        kv_width = config.n_kv_heads * config.head_dim
        self.q = nn.Linear(config.d_model, q_width, bias=config.bias)
        self.k = nn.Linear(config.d_model, kv_width, bias=config.bias)
        self.v = nn.Linear(config.d_model, kv_width, bias=config.bias)
        self.out = nn.Linear(q_width, config.d_model, bias=config.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        batch, seq_len, _ = x.shape
        q = self.q(x).view(batch, seq_len, c.n_heads, c.head_dim).transpose(1, 2)
        k = self.k(x).view(batch, seq_len, c.n_kv_heads, c.head_dim).transpose(1, 2)
        v = self.v(x).view(batch, seq_len, c.n_kv_heads, c.head_dim).transpose(1, 2)
        if self.flash_attention:
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.dropout, enable_gqa=True
            )
        else:
            k = k.repeat_interleave(c.n_query_groups, dim=1)
            v = v.repeat_interleave(c.n_query_groups, dim=1)
            scores = (q @ k.transpose(-2, -1)) * c.head_dim**-0.5
            future = torch.ones(seq_len, seq_len, dtype=torch.bool).triu(1)
            weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
            y = F.dropout(weights, self.dropout, self.training) @ v
        return self.out(y.transpose(1, 2).reshape(batch, seq_len, -1))


class MLP(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.swiglu = config.mlp == "swiglu"
        if self.swiglu:
            self.gate = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.up = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=config.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.swiglu:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, config: ModelConfig, dropout: float, flash_attention: bool):
        super().__init__()
        self.attention_norm = norm(config)
        self.attention = Attention(config, dropout, flash_attention)
        self.mlp_norm = norm(config)
        self.mlp = MLP(config)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.attention_norm(x)))
        return x + self.dropout(self.mlp(self.mlp_norm(x)))


class TinyDecoder(nn.Module):
    """Pre-norm decoder-only transformer with the layers of ``config``."""

    def __init__(self, config: ModelConfig, dropout: float = 0.0, flash_attention: bool = True):
        super().__init__()
        self.config = config
        self.tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = (
            nn.Embedding(config.max_seq_len, config.d_model)
            if config.pos_embedding == "learned"
            else None
        )
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(config, dropout, flash_attention) for _ in range(config.n_layers)
        )
        self.final_norm = norm(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.tokens.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The mean cross-entropy of predicting ``targets`` from ``idx``."""
        x = self.tokens(idx)
        if self.positions is not None:
            x = x + self.positions(torch.arange(idx.shape[1]))
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.final_norm(x))
        return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())


def saved_activation_bytes(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``model(*inputs)``.

    Counted once per storage (views share one), parameters excluded.
    """
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(*inputs)  # keeps the graph, and every saved tensor, alive
    total = sum(saved.values())
    del output
    return total
