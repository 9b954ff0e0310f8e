"""Autoregressive text generation with a key/value cache (chapter 3)."""

from __future__ import annotations

import re

import torch

from course_utils.checks import (
    instance_of,
    int_at_least,
    not_empty,
    number_at_least,
    number_in_range,
    positive_int,
)
from course_utils.model import DecoderLM


def check_sampling(
    temperature: float, top_k: int | None, top_p: float | None
) -> tuple[float, int | None, float | None]:
    """``ValueError`` unless temperature ≥ 0, top_k ≥ 1 (or None), 0 < top_p ≤ 1 (or None)."""
    temperature = number_at_least("temperature", temperature, 0)  # 0 = greedy
    if top_k is not None:
        positive_int("top_k", top_k)
    if top_p is not None:
        top_p = number_in_range("top_p", top_p, 0, 1, include_low=False)
    return temperature, top_k, top_p


def filter_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """The logits (batch, vocab) a token is sampled from: scaled, then cut by top-k and top-p.

    Dividing by ``temperature`` sharpens the distribution (below 1) or flattens it (above 1).
    **Top-k** keeps the ``top_k`` most likely tokens (Fan et al. 2018, section 5.4). **Top-p**
    or nucleus sampling keeps the smallest set of most likely tokens whose probabilities add up
    to at least ``top_p`` (Holtzman et al. 2020, section 3.1, eq. 2), so it keeps few tokens
    where the model is sure and many where it is not. Dropped tokens get logit −∞; top-p is
    applied after top-k, to the renormalised distribution (the order Hugging Face's
    ``generate`` uses). ``temperature`` must be positive here: 0 (greedy) is
    :func:`next_token`'s business.
    """
    temperature, top_k, top_p = check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        raise ValueError("temperature must be positive to filter logits (0 means greedy)")
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        sorted_probabilities = torch.softmax(sorted_logits, dim=-1)
        # Probability of the tokens ranked above each one: keep a token while that is below p.
        before = torch.cumsum(sorted_probabilities, dim=-1) - sorted_probabilities
        drop_sorted = before >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def next_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """Pick one token per row from ``logits`` (batch, vocab); returns (batch, 1) ids.

    ``temperature=0`` takes the most likely token (greedy). Otherwise a token is drawn from the
    softmax of :func:`filter_logits` (temperature, then ``top_k``, then ``top_p``).
    """
    temperature, top_k, top_p = check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probabilities = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)
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
    top_p: float | None = None,
) -> torch.Tensor:
    """Extend the prompts ``idx`` (batch, seq) by ``max_new_tokens`` tokens (chapter 3).

    With ``use_cache`` the prompt is run once and every later step feeds only the newest
    token, reusing the cached keys and values; without it every step re-reads the whole
    sequence. Both give the same tokens. ``idx`` is moved to the model's device; sampling
    draws from ``generator`` when given (a ``torch.Generator`` on that device), so a seeded
    generator gives reproducible text. ``temperature``, ``top_k`` and ``top_p`` choose how each
    token is drawn (:func:`next_token`; ``temperature=0`` is greedy). Returns the prompts
    followed by the new tokens, (batch, seq + max_new_tokens).

    What it uses of ``model``, a :class:`~course_utils.model.DecoderLM`: ``config.max_seq_len``,
    ``output_weight`` (for the device), ``new_cache()`` and ``model(idx, cache=cache)``
    returning logits (batch, seq, vocab).
    """
    instance_of("model", model, DecoderLM)
    int_at_least("max_new_tokens", max_new_tokens, 0)
    check_sampling(temperature, top_k, top_p)
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
        token = next_token(logits, temperature, top_k, generator, top_p)
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
    top_p: float | None = None,
) -> str:
    """Continue ``prompt`` by ``max_new_tokens`` tokens, even past the model's context (chapter 5).

    :func:`generate` stops at ``max_seq_len``: a model has never seen positions beyond it. To
    write more, this slides a window: when the context is full, it keeps the most recent half
    and continues from there, so the model always reads at most ``max_seq_len`` tokens (and
    forgets what came before). ``tokenizer`` is any course tokenizer (``encode``/``decode``);
    ``seed`` makes the sampling repeatable; ``temperature``, ``top_k`` and ``top_p`` are
    :func:`generate`'s. Returns the prompt and its continuation as text.
    """
    not_empty("prompt", instance_of("prompt", prompt, str))
    int_at_least("max_new_tokens", max_new_tokens, 0)
    check_sampling(temperature, top_k, top_p)
    window = model.config.max_seq_len
    device = model.output_weight.device
    generator = torch.Generator(device=device).manual_seed(seed)
    tokens = torch.tensor([tokenizer.encode(prompt)], dtype=torch.int64)
    remaining = max_new_tokens
    while remaining > 0:
        keep = tokens.shape[1] if tokens.shape[1] < window else max(1, window // 2)
        context = tokens[:, -keep:]
        n_new = min(remaining, window - context.shape[1])
        extended = generate(
            model, context, n_new, temperature, top_k, generator=generator, top_p=top_p
        )
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
