"""The generation playground, driven by setting its controls as a learner would."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
import torch

from course_utils.config import ModelConfig
from course_utils.generation import generate_text
from course_utils.model import DecoderLM
from course_utils.playground import (
    Playground,
    candidates_text,
    next_token_candidates,
    playground,
    plot_next_token_distribution,
    token_label,
)
from course_utils.tokenizer import CharTokenizer

TOKENIZER = CharTokenizer.train("abcdefghij klmnopqrstuvwxyz\n.")


@pytest.fixture(scope="module")
def model() -> DecoderLM:
    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=TOKENIZER.vocab_size, d_model=32, n_layers=2, n_heads=4, max_seq_len=32
    )
    model = DecoderLM(config)
    with torch.no_grad():  # sharper than the initialisation, so the distribution has a shape
        model.lm_head.weight.mul_(60)
    return model.eval()


def test_candidates_are_the_most_likely_tokens_with_their_probabilities(model):
    candidates = next_token_candidates(model, TOKENIZER, "abc", temperature=1.0, n=5)
    with torch.no_grad():
        logits = model(torch.tensor([TOKENIZER.encode("abc")]))[0, -1]
    probabilities = torch.softmax(logits, dim=-1)
    top = probabilities.topk(5)
    assert [c.token for c in candidates] == [TOKENIZER.decode([i]) for i in top.indices.tolist()]
    assert [c.probability for c in candidates] == pytest.approx(top.values.tolist(), rel=1e-5)
    assert all(c.kept for c in candidates)


def test_top_k_and_top_p_cut_the_tail_and_temperature_zero_keeps_one(model):
    kept = lambda **kw: [c.kept for c in next_token_candidates(model, TOKENIZER, "abc", **kw)]  # noqa: E731
    assert kept(top_k=3) == [True] * 3 + [False] * 9
    assert kept(temperature=0) == [True] + [False] * 11
    nucleus = next_token_candidates(model, TOKENIZER, "abc", top_p=0.5, n=TOKENIZER.vocab_size)
    n = sum(c.kept for c in nucleus)
    probabilities = [c.probability for c in nucleus]
    assert 1 < n < 12 and sum(probabilities) == pytest.approx(1)
    assert [c.kept for c in nucleus] == [True] * n + [False] * (len(nucleus) - n)
    assert sum(probabilities[:n]) >= 0.5 > sum(probabilities[: n - 1])
    # A lower temperature moves probability onto the favourite.
    cold = next_token_candidates(model, TOKENIZER, "abc", temperature=0.3)
    assert cold[0].probability > nucleus[0].probability


def test_the_playground_shows_the_seeded_continuation_and_the_chart(model):
    explorer = Playground(model, TOKENIZER, prompt="the ", max_new_tokens=30, seed=3)
    assert isinstance(explorer, widgets.VBox)
    expected = generate_text(model, TOKENIZER, "the ", 30, temperature=0.8, seed=3)
    assert explorer.generated() == expected[4:]
    assert f"continuation (seed 3): {expected}" in explorer.text
    assert candidates_text(explorer.candidates()) in explorer.text
    assert explorer.chart.value.count("kept</span>") == 12
    assert "continuation (seed 3" in explorer.continuation.value


def test_moving_a_slider_changes_the_text_and_moving_it_back_restores_it(model):
    explorer = Playground(model, TOKENIZER, prompt="abc", max_new_tokens=40)
    before = explorer.continuation.value
    explorer.temperature.value = 2.0
    assert explorer.continuation.value != before
    explorer.temperature.value = 0.8
    assert explorer.continuation.value == before  # seeded: the same settings, the same text
    explorer.top_k.value = 2
    assert explorer.settings == {"temperature": 0.8, "top_k": 2, "top_p": None}
    assert explorer.chart.value.count("kept</span>") == 2
    explorer.top_k.value, explorer.top_p.value = 0, 0.3
    assert explorer.settings["top_p"] == 0.3 and explorer.settings["top_k"] is None
    explorer.temperature.value = 0.0  # greedy: the distribution no longer matters
    greedy = generate_text(model, TOKENIZER, "abc", 40, temperature=0.0)
    assert explorer.generated() == greedy[3:]


def test_a_prompt_the_model_cannot_read_is_a_message_not_a_crash(model):
    explorer = Playground(model, TOKENIZER, prompt="abc")
    explorer.prompt.value = "ABC"
    assert "cannot continue this prompt" in explorer.chart.value
    assert "not in the vocabulary" in explorer.text
    explorer.prompt.value = ""
    assert "must not be empty" in explorer.text
    explorer.prompt.value = "x" * 100  # longer than the context: only its end is read
    assert "continuation" in explorer.text


def test_bad_arguments_are_clear_errors(model):
    with pytest.raises(ValueError, match="top_p"):
        next_token_candidates(model, TOKENIZER, "abc", top_p=0)
    with pytest.raises(ValueError, match="DecoderLM"):
        Playground(torch.nn.Linear(2, 2), TOKENIZER)
    with pytest.raises(ValueError, match="max_new_tokens"):
        Playground(model, TOKENIZER, max_new_tokens=0)
    with pytest.raises(ValueError, match="tokenizer"):
        playground(model)


def test_token_labels_make_spaces_and_newlines_visible():
    assert [token_label(t) for t in (" ", "\n", "a", "\t")] == ["␣", "↵", "a", "\\t"]


def test_the_plot_draws_one_bar_per_candidate_coloured_by_kept(model):
    import matplotlib.pyplot as plt

    ax = plot_next_token_distribution(model, TOKENIZER, "abc", top_k=4, n=8)
    colours = [tuple(bar.get_facecolor()) for bar in ax.patches]
    assert len(colours) == 8 and len(set(colours[:4])) == 1 and colours[4] != colours[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(ax.figure)
