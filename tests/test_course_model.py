"""The shipped course model: it loads safely, scores as recorded, writes, and its script made it."""

from __future__ import annotations

import hashlib

import pytest
import torch

from course_utils.course_model import (
    CHECKPOINT,
    MODEL_SETTINGS,
    TRAINING,
    attention_entropy,
    attention_maps,
    attention_share,
    course_data,
    first_token_share,
    load_course_model,
    plot_attention_heads,
    previous_token_share,
    provenance,
    train_course_model,
    validation_loss,
    word_start_keys,
)
from course_utils.generation import generate_text, known_word_fraction
from course_utils.model import DecoderLM
from course_utils.parameters import estimate_parameters
from course_utils.pipeline import training_text
from course_utils.training import TrainingConfig, unigram_loss

RECORD = provenance()


@pytest.fixture(scope="module")
def course_model():
    return load_course_model()


def test_the_checkpoint_is_small_loads_without_code_and_is_the_recorded_file():
    assert CHECKPOINT.stat().st_size < 3e6  # Binder has about 2 GB of memory in all
    assert CHECKPOINT.stat().st_size == RECORD["checkpoint_bytes"]
    assert hashlib.sha256(CHECKPOINT.read_bytes()).hexdigest() == RECORD["checkpoint_sha256"]
    contents = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    assert contents["trainer"] is None  # weights, config and tokenizer only


def test_the_provenance_records_how_the_model_was_made(course_model):
    model, tokenizer = course_model
    for key in ("date", "cpu", "torch", "seed", "command", "wall_seconds", "cpu_seconds"):
        assert RECORD[key] not in ("", None), key
    assert RECORD["command"] == "python tools/train_course_model.py"
    assert RECORD["model"] == MODEL_SETTINGS | {"vocab_size": tokenizer.vocab_size}
    # Fields added to TrainingConfig since the record was written take their defaults.
    assert TrainingConfig.from_dict(RECORD["training"]) == TRAINING
    assert RECORD["steps"] == TRAINING.steps
    assert RECORD["parameters"] == estimate_parameters(model.config)
    assert RECORD["cpu_seconds"] < 6 * 60  # a few minutes of one CPU core


def test_its_validation_loss_is_the_recorded_one_and_beats_the_baselines(course_model):
    model, _ = course_model
    data = course_data()
    loss = validation_loss(model)
    assert loss == pytest.approx(RECORD["final_val_loss"], abs=2e-3)
    assert RECORD["final_val_loss"] == pytest.approx(RECORD["val_loss"][-1], abs=2e-3)
    unigram = unigram_loss(data.train_tokens, data.val_tokens, data.tokenizer.vocab_size)
    assert loss < unigram - 1.0


def test_the_tokenizer_is_the_corpus_characters(course_model):
    _, tokenizer = course_model
    assert tokenizer.vocab == course_data().tokenizer.vocab


def test_it_writes_mostly_real_words(course_model):
    model, tokenizer = course_model
    text = generate_text(model, tokenizer, "Once upon a time", 300, temperature=0.8, seed=0)
    assert len(text) == 316 and text.startswith("Once upon a time")
    assert known_word_fraction(text[16:], training_text()) > 0.6


def test_rerunning_the_script_reproduces_its_first_losses():
    model, _, history = train_course_model(steps=5, progress=False)
    assert isinstance(model, DecoderLM) and len(history.train_loss) == 5
    expected = RECORD["first_train_losses"][:5]
    assert history.train_loss == pytest.approx(expected, rel=1e-4)
    assert history.val_loss[0] == pytest.approx(RECORD["val_loss"][0], rel=1e-4)


def test_attention_maps_are_causal_distributions_of_every_head(course_model):
    model, tokenizer = course_model
    text = "The cat sat on the mat."
    maps = attention_maps(model, tokenizer, text)
    n = len(text)
    assert maps.shape == (model.config.n_layers, model.config.n_heads, n, n)
    torch.testing.assert_close(maps.sum(-1), torch.ones(maps.shape[:-1]))
    assert torch.all(maps.triu(diagonal=1) == 0)
    # The maps are the weights the model uses: at the first layer, from the embeddings.
    block = model.blocks[0]
    x = model.token_embeddings(torch.tensor([tokenizer.encode(text)]))
    with torch.no_grad():
        q, k, _ = block.attention.heads(block.norm1(x))
        scores = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
        causal = torch.ones(n, n, dtype=torch.bool).triu(1)
        expected = torch.softmax(scores.masked_fill(causal, float("-inf")), -1)[0]
    torch.testing.assert_close(maps[0], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="max_seq_len"):
        attention_maps(model, tokenizer, "a" * 200)


def test_attention_shares_on_maps_built_by_hand():
    identity = torch.eye(4)
    previous = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=torch.float)
    first = torch.tensor([[1, 0, 0], [1, 0, 0], [1, 0, 0]], dtype=torch.float)
    assert previous_token_share(identity, offset=0) == 1.0
    assert previous_token_share(identity) == 0.0
    assert previous_token_share(previous) == 1.0
    assert first_token_share(first) == 1.0 and first_token_share(previous) == 0.5
    with pytest.raises(ValueError, match="offset"):
        previous_token_share(identity, offset=4)


def test_the_attention_plot_draws_each_chosen_head(course_model):
    import matplotlib.pyplot as plt

    model, tokenizer = course_model
    maps = attention_maps(model, tokenizer, "to be or not")
    axes = plot_attention_heads(maps, list("to be or not"), [(0, 1, "a"), (3, 2, "b")])
    assert len(axes) == 2 and "layer 3, head 2" in axes[1].get_title()
    assert axes[0].get_xlabel() and axes[0].get_ylabel()
    plt.close(axes[0].figure)


def test_word_start_keys_point_at_the_last_space_or_newline():
    chosen = word_start_keys("ab cd\nef")
    assert [row.nonzero().flatten().tolist() for row in chosen] == [
        [], [], [], [2], [2], [2], [5], [5]
    ]  # fmt: skip


def test_shares_and_entropy_on_maps_built_by_hand():
    uniform = torch.full((4, 4), 0.25)
    assert attention_entropy(torch.eye(4)) == 0.0
    assert attention_entropy(uniform) == pytest.approx(torch.log(torch.tensor(4.0)).item())
    first_column = torch.zeros(4, 4, dtype=torch.bool)
    first_column[1:, 0] = True
    assert attention_share(uniform, first_column) == pytest.approx(0.25)
    assert attention_share(torch.eye(4), first_column) == 0.0
    with pytest.raises(ValueError, match="no key"):
        attention_share(uniform, torch.zeros(4, 4, dtype=torch.bool))
