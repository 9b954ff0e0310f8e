"""The chapter 1 explorer, driven by setting its sliders as a learner would."""

from __future__ import annotations

import re

import ipywidgets as widgets
import pytest

from course_utils.memory import training_memory, weight_bytes
from course_utils.parameters import estimate_parameters
from course_utils.presets import PRESETS
from course_utils.size_explorer import ScaleExplorer, scale_explorer, scale_summary


def shown_count(explorer: ScaleExplorer) -> int:
    match = re.search(r"([\d,]+) parameters", explorer.result.value)
    assert match, explorer.result.value
    return int(match.group(1).replace(",", ""))


def test_starts_at_gpt2_small():
    explorer = scale_explorer()
    assert isinstance(explorer, widgets.VBox)
    assert "124,439,808 parameters" in explorer.result.value
    assert explorer.config == PRESETS["gpt2"].config


def test_controls_have_clear_descriptions():
    explorer = scale_explorer()
    assert explorer.layers.description == "layers"
    assert "d_model" in explorer.width.description
    assert explorer.vocabulary.description == "vocabulary"
    assert list(explorer.children[:3]) == [explorer.layers, explorer.width, explorer.vocabulary]


@pytest.mark.parametrize(
    ("layers", "width", "name"), [(24, 1024, "gpt2-medium"), (36, 1280, "gpt2-large")]
)
def test_moving_the_sliders_reaches_the_bigger_gpt2s(layers, width, name):
    explorer = scale_explorer()
    explorer.layers.value = layers
    explorer.width.value = width
    assert shown_count(explorer) == PRESETS[name].estimated_params
    assert explorer.config == PRESETS[name].config


def test_every_slider_changes_the_count():
    explorer = scale_explorer()
    counts = [shown_count(explorer)]
    for control, value in (
        (explorer.layers, 6),
        (explorer.width, 512),
        (explorer.vocabulary, 32_000),
    ):
        control.value = value
        counts.append(shown_count(explorer))
        assert counts[-1] == estimate_parameters(explorer.config)
    assert len(set(counts)) == len(counts)


def test_the_summary_shows_memory():
    config = PRESETS["gpt2-xl"].config
    text = scale_summary(config)
    assert f"{estimate_parameters(config):,} parameters" in text
    assert f"{weight_bytes(config, 'bf16') / 1e9:.3g} GB" in text
    assert f"{training_memory(config).total / 1e9:.3g} GB" in text
    assert text == scale_explorer("gpt2-xl").text


def test_width_keeps_the_head_size_and_mlp_ratio():
    explorer = scale_explorer("llama-2-7b")
    explorer.width.value = 2048
    config = explorer.config
    assert (config.head_dim, config.n_heads) == (128, 16)
    assert config.d_ff == 5504  # 11008 · 2048 / 4096


def test_bad_bases_are_refused():
    with pytest.raises(ValueError, match="base must be one of"):
        scale_explorer("gpt5")
    with pytest.raises(ValueError, match="multi-head"):
        scale_explorer("llama-3-8b")  # grouped-query attention is not explored here
    with pytest.raises(ValueError, match="base must be a ModelConfig"):
        ScaleExplorer("gpt2")
    with pytest.raises(ValueError, match="config"):
        scale_summary(None)
