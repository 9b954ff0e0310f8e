"""Autoregressive text generation with a key/value cache (chapter 3)."""

from __future__ import annotations

import re

import torch

from course_utils.checks import instance_of, int_at_least, not_empty, number_at_least, positive_int
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
    generator gives reproducible text. Returns the prompts followed by the new tokens,
    (batch, seq + max_new_tokens).

    What it uses of ``model``, a :class:`~course_utils.model.DecoderLM`: ``config.max_seq_len``,
    ``output_weight`` (for the device), ``new_cache()`` and ``model(idx, cache=cache)``
    returning logits (batch, seq, vocab).
    """
    instance_of("model", model, DecoderLM)
    int_at_least("max_new_tokens", max_new_tokens, 0)
    number_at_least("temperature", temperature, 0)  # 0 = greedy
    if top_k is not None:
        positive_int("top_k", top_k)
    if (
        idx.ndim != 2
        or idx.shape[1] == 0
        or idx.shape[1] + max_new_tokens > model.config.max_seq_len
    ):
        raise ValueError(
            f"idx (batch, seq>0) plus max_new_tokens must fit in the model's "
            f"max_seq_len={model.config.max_seq_len}; got idx of shape {tuple(idx.shape)} "
            f"and max_new_tokens={max_new_tokens}"
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


def generate_text(
    model: DecoderLM,
    tokenizer,
    prompt: str,
    max_new_tokens: int,
    temperature: float = 0.8,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` by ``max_new_tokens`` tokens, even past the model's context (chapter 5).

    :func:`generate` stops at ``max_seq_len``: a model has never seen positions beyond it. To
    write more, this slides a window: when the context is full, it keeps the most recent half
    and continues from there, so the model always reads at most ``max_seq_len`` tokens (and
    forgets what came before). ``tokenizer`` is any course tokenizer (``encode``/``decode``);
    ``seed`` makes the sampling repeatable. Returns the prompt and its continuation as text.
    """
    not_empty("prompt", instance_of("prompt", prompt, str))
    int_at_least("max_new_tokens", max_new_tokens, 0)
    window = model.config.max_seq_len
    device = model.output_weight.device
    generator = torch.Generator(device=device).manual_seed(seed)
    tokens = torch.tensor([tokenizer.encode(prompt)], dtype=torch.int64)
    remaining = max_new_tokens
    while remaining > 0:
        keep = tokens.shape[1] if tokens.shape[1] < window else max(1, window // 2)
        context = tokens[:, -keep:]
        n_new = min(remaining, window - context.shape[1])
        extended = generate(model, context, n_new, temperature, top_k, generator=generator)
        tokens = torch.cat((tokens, extended[:, context.shape[1] :].cpu()), dim=1)
        remaining -= n_new
    return tokenizer.decode(tokens[0].tolist())


WORD = re.compile(r"[a-z]{3,}")


def known_word_fraction(text: str, reference_text: str) -> float:
    """Share of the words in ``text`` that also occur in ``reference_text`` (chapter 5).

    A word is a run of three or more letters, compared in lower case. A crude but telling
    measure of generated text: random characters rarely spell words, a model that has learned
    spelling mostly does. 0.0 when ``text`` has no words at all.
    """
    words = WORD.findall(text.lower())
    if not words:
        return 0.0
    known = set(WORD.findall(reference_text.lower()))
    return sum(word in known for word in words) / len(words)
