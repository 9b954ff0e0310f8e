"""Generation: the KV cache changes the cost, never the tokens."""

from __future__ import annotations

import pytest
import torch

from course_utils.config import ModelConfig
from course_utils.environment import best_device
from course_utils.generation import (
    filter_logits,
    generate,
    generate_text,
    known_word_fraction,
    next_token,
)
from course_utils.memory import kv_cache_bytes
from course_utils.model import DecoderLM

CONFIGS = {
    "llama, grouped-query": ModelConfig(
        vocab_size=41, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=40
    ),
    "gpt-2 style": ModelConfig(
        vocab_size=41,
        d_model=32,
        n_layers=2,
        n_heads=4,
        max_seq_len=40,
        norm="layernorm",
        mlp="gelu",
        pos_embedding="learned",
        tie_embeddings=True,
        bias=True,
    ),  # fmt: skip
}


def trained_looking_model(config: ModelConfig) -> DecoderLM:
    """Random weights large enough that next-token distributions are far from uniform."""
    torch.manual_seed(0)
    model = DecoderLM(config)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            scale = 1.0 if parameter.ndim == 1 else parameter.shape[-1] ** -0.5
            parameter.copy_((1.0 if parameter.ndim == 1 else 0.0) + noise * scale)
        model.token_embeddings.weight.normal_(std=0.2, generator=generator)
    return model


def prompt(config: ModelConfig, batch: int = 3, length: int = 5) -> torch.Tensor:
    return torch.randint(
        0, config.vocab_size, (batch, length), generator=torch.Generator().manual_seed(2)
    )


@pytest.mark.parametrize("name", CONFIGS)
def test_cached_and_uncached_greedy_generation_agree(name):
    config = CONFIGS[name]
    model = trained_looking_model(config)
    idx = prompt(config)
    cached = generate(model, idx, 30, temperature=0.0)
    uncached = generate(model, idx, 30, temperature=0.0, use_cache=False)
    assert torch.equal(cached, uncached)
    assert torch.equal(cached[:, :5], idx)


@pytest.mark.parametrize("name", CONFIGS)
def test_cached_and_uncached_sampling_agree_with_a_seeded_generator(name):
    config = CONFIGS[name]
    model = trained_looking_model(config)
    idx = prompt(config)
    runs = [
        generate(model, idx, 30, temperature=0.8, top_k=10, use_cache=use_cache,
                 generator=torch.Generator().manual_seed(7))
        for use_cache in (True, False, True)
    ]  # fmt: skip
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0], runs[2])
    other_seed = generate(model, idx, 30, generator=torch.Generator().manual_seed(8))
    assert not torch.equal(runs[0], other_seed)


@pytest.mark.parametrize("name", CONFIGS)
def test_cached_logits_equal_full_forward_logits(name):
    config = CONFIGS[name]
    model = trained_looking_model(config).eval()
    idx = prompt(config, length=12)
    cache = model.new_cache()
    with torch.no_grad():
        full = model(idx)
        pieces = [model(idx[:, :6], cache=cache)]
        pieces += [model(idx[:, t : t + 1], cache=cache) for t in range(6, 12)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-4, atol=1e-4)


def test_generation_restores_training_mode_and_keeps_the_prompt_device():
    config = CONFIGS["llama, grouped-query"]
    model = trained_looking_model(config).train()
    out = generate(model, prompt(config), 2)
    assert model.training
    assert out.shape == (3, 7) and out.dtype == torch.long


def test_top_k_one_is_greedy_and_top_k_limits_the_choices():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.5]])
    assert next_token(logits, temperature=0.0).item() == 1
    assert next_token(logits, top_k=1).item() == 1
    generator = torch.Generator().manual_seed(0)
    drawn = {next_token(logits, top_k=2, generator=generator).item() for _ in range(200)}
    assert drawn == {1, 3}


def random_logits(seed: int, batch: int = 6, vocab: int = 50) -> torch.Tensor:
    """Logits without ties (a tie at the cut would let two correct filters differ)."""
    return 3 * torch.randn(batch, vocab, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("top_k", [1, 2, 7, 50, 80])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 1.7])
def test_top_k_matches_transformers_warpers(top_k, temperature):
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper

    logits = random_logits(top_k)
    expected = TopKLogitsWarper(top_k)(None, TemperatureLogitsWarper(temperature)(None, logits))
    ours = filter_logits(logits, temperature, top_k=top_k)
    assert torch.equal(torch.isinf(ours), torch.isinf(expected))
    torch.testing.assert_close(ours, expected)
    assert (~torch.isinf(ours)).sum(dim=-1).tolist() == [min(top_k, 50)] * 6


@pytest.mark.parametrize("top_p", [0.05, 0.3, 0.5, 0.9, 0.99, 1.0])
@pytest.mark.parametrize("top_k", [None, 10])
def test_top_p_matches_transformers_warpers(top_p, top_k):
    from transformers import TopKLogitsWarper, TopPLogitsWarper

    logits = random_logits(int(top_p * 100))
    expected = logits if top_k is None else TopKLogitsWarper(top_k)(None, logits)
    expected = TopPLogitsWarper(top_p)(None, expected)
    ours = filter_logits(logits, top_k=top_k, top_p=top_p)
    assert torch.equal(torch.isinf(ours), torch.isinf(expected))


@pytest.mark.parametrize("top_p", [0.1, 0.5, 0.75, 0.9])
def test_top_p_keeps_the_smallest_set_whose_probability_reaches_p(top_p):
    logits = random_logits(3, batch=20)
    probabilities = torch.softmax(logits, dim=-1)
    kept = ~torch.isinf(filter_logits(logits, top_p=top_p))
    for row, keep in zip(probabilities, kept, strict=True):
        ranked = row.sort(descending=True).values
        n = int(keep.sum())
        # The kept tokens are the n most likely, they reach p, and n - 1 of them would not.
        assert set(row[keep].tolist()) == set(ranked[:n].tolist())
        assert ranked[:n].sum() >= top_p > ranked[: n - 1].sum()


def test_top_p_on_a_distribution_worked_by_hand():
    logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    kept = lambda p: (~torch.isinf(filter_logits(logits, top_p=p)))[0].tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]  # 0.5 alone reaches 0.5
    assert kept(0.51) == [True, True, False, False]
    assert kept(0.8) == [True, True, False, False]
    assert kept(0.81) == [True, True, True, False]
    assert kept(1.0) == [True, True, True, True]
    generator = torch.Generator().manual_seed(0)
    drawn = {next_token(logits, top_p=0.8, generator=generator).item() for _ in range(200)}
    assert drawn == {0, 1}


def test_top_k_one_and_a_tiny_top_p_generate_the_greedy_text():
    config = CONFIGS["llama, grouped-query"]
    model = trained_looking_model(config)
    idx = prompt(config)
    greedy = generate(model, idx, 20, temperature=0.0)
    generator = torch.Generator().manual_seed(5)
    assert torch.equal(generate(model, idx, 20, top_k=1, generator=generator), greedy)
    assert torch.equal(generate(model, idx, 20, top_p=1e-6, generator=generator), greedy)
    sampled = generate(model, idx, 20, top_p=0.9, generator=generator)
    assert not torch.equal(sampled, greedy)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"temperature": -0.1}, "temperature"),
    ],
)
def test_bad_sampling_arguments_are_clear_errors(kwargs, message):
    logits = random_logits(0)
    with pytest.raises(ValueError, match=message):
        next_token(logits, **kwargs)
    with pytest.raises(ValueError, match=message):
        filter_logits(logits, **kwargs)
    with pytest.raises(ValueError, match="temperature must be positive"):
        filter_logits(logits, temperature=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_new_tokens": -1}, "max_new_tokens"),
        ({"max_new_tokens": 2, "temperature": -1.0}, "temperature"),
        ({"max_new_tokens": 2, "top_k": 0}, "top_k"),
        ({"max_new_tokens": 2, "top_p": 0}, "top_p"),
        ({"max_new_tokens": 40}, "max_seq_len=40"),
    ],
)
def test_bad_generation_arguments_are_clear_errors(kwargs, message):
    config = CONFIGS["llama, grouped-query"]
    model = trained_looking_model(config)
    with pytest.raises(ValueError, match=message):
        generate(model, prompt(config), **kwargs)
    with pytest.raises(ValueError, match="DecoderLM"):
        generate(torch.nn.Linear(2, 2), prompt(config), 1)


def test_kv_cache_bytes_match_a_real_cache():
    config = CONFIGS["llama, grouped-query"]
    model = trained_looking_model(config)
    cache = model.new_cache()
    with torch.no_grad():
        model(prompt(config, batch=2, length=9), cache=cache)
    stored = sum(c.keys.numel() + c.values.numel() for c in cache) * 4  # float32
    assert stored == kv_cache_bytes(config, batch_size=2, context_len=9, dtype="fp32")


@pytest.mark.skipif(best_device() == "cpu", reason="needs a CUDA or MPS device")
def test_generation_on_the_accelerator_matches_the_cpu():
    config = CONFIGS["llama, grouped-query"]
    model = trained_looking_model(config)
    idx = prompt(config)
    on_cpu = generate(model, idx, 10, temperature=0.0)
    on_device = generate(model.to(best_device()), idx, 10, temperature=0.0)
    assert on_device.device.type == best_device()
    assert torch.equal(on_device.cpu(), on_cpu)


class Letters:
    """The smallest tokenizer: one id per lowercase letter (``generate_text`` needs two methods)."""

    def encode(self, text: str) -> list[int]:
        return [ord(char) - ord("a") for char in text]

    def decode(self, ids) -> str:
        return "".join(chr(ord("a") + i) for i in ids)


def test_generate_text_writes_past_the_context_window_and_repeats_with_a_seed():
    config = ModelConfig(vocab_size=26, d_model=32, n_layers=1, n_heads=2, max_seq_len=16)
    model = trained_looking_model(config)
    text = generate_text(model, Letters(), "abc", 50, seed=3)
    assert len(text) == 53 and text.startswith("abc")
    assert generate_text(model, Letters(), "abc", 50, seed=3) == text
    assert generate_text(model, Letters(), "abc", 50, seed=4) != text
    # Within the window it is chapter 3's generate, with the same generator.
    short = generate_text(model, Letters(), "abc", 10, temperature=0.0)
    expected = generate(model, torch.tensor([Letters().encode("abc")]), 10, temperature=0.0)
    assert short == Letters().decode(expected[0].tolist())
    with pytest.raises(ValueError, match="prompt"):
        generate_text(model, Letters(), "", 5)


def test_known_word_fraction_counts_words_of_three_letters_or_more():
    reference = "The cat sat on the mat."
    assert known_word_fraction("the CAT sat", reference) == 1.0
    assert known_word_fraction("the dog sat, a xqz on", reference) == pytest.approx(2 / 4)
    assert known_word_fraction("x yz 3 !", reference) == 0.0
