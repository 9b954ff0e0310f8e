"""Autoregressive text generation with a key/value cache (chapter 3)."""

from __future__ import annotations

import torch

from course_utils.model import DecoderLM


def next_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pick one token per row from ``logits`` (batch, vocab); returns (batch, 1) ids.

    ``temperature=0`` takes the most likely token (greedy). Otherwise the logits are divided
    by ``temperature`` (below 1 sharpens, above 1 flattens), all but the ``top_k`` largest
    are dropped if ``top_k`` is given, and a token is drawn from the softmax.
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    probabilities = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probabilities, num_samples=1, generator=generator)


@torch.no_grad()
def generate(
    model: DecoderLM,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend the prompts ``idx`` (batch, seq) by ``max_new_tokens`` tokens (chapter 3).

    With ``use_cache`` the prompt is run once and every later step feeds only the newest
    token, reusing the cached keys and values; without it every step re-reads the whole
    sequence. Both give the same tokens. ``idx`` is moved to the model's device; sampling
    draws from ``generator`` when given (a ``torch.Generator`` on that device), so a seeded
    generator gives reproducible text. Returns the prompts
    followed by the new tokens, (batch, seq + max_new_tokens).
    """
    if not isinstance(model, DecoderLM):
        raise ValueError(f"model must be a DecoderLM, got {type(model).__name__}")
    if idx.ndim != 2 or idx.shape[1] == 0:
        raise ValueError(f"idx must be token ids of shape (batch, seq>0), got {tuple(idx.shape)}")
    if (
        isinstance(max_new_tokens, bool)
        or not isinstance(max_new_tokens, int)
        or max_new_tokens < 0
    ):
        raise ValueError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    total = idx.shape[1] + max_new_tokens
    if total > model.config.max_seq_len:
        raise ValueError(
            f"prompt plus max_new_tokens is {total} tokens, more than the model's "
            f"max_seq_len={model.config.max_seq_len}"
        )
    idx = idx.to(model.output_weight.device)
    was_training = model.training
    model.eval()
    cache = model.new_cache() if use_cache else None
    new_input = idx
    for _ in range(max_new_tokens):
        logits = model(new_input, cache=cache)[:, -1]
        token = next_token(logits, temperature, top_k, generator)
        idx = torch.cat((idx, token), dim=1)
        new_input = token if use_cache else idx
    model.train(was_training)
    return idx
