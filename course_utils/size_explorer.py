"""An interactive explorer: how layers, width and vocabulary set a model's size (chapter 1)."""

from __future__ import annotations

import html

import ipywidgets as widgets

from course_utils.checks import choice, instance_of
from course_utils.config import ModelConfig
from course_utils.memory import serving_memory, training_memory, weight_bytes
from course_utils.parameters import estimate_parameters, parameter_shares
from course_utils.presets import PRESETS

GB = 1e9


def scale_summary(config: ModelConfig) -> str:
    """A few lines on ``config``: its parameters, where they live, and its memory (chapter 1).

    Training assumes mixed-precision Adam on one sequence of ``max_seq_len`` tokens; serving,
    bf16 weights and the KV cache of one such sequence.
    """
    instance_of("config", config, ModelConfig)
    total = estimate_parameters(config)
    shares = parameter_shares(config)
    tokens = config.max_seq_len
    train = training_memory(config)
    serve = serving_memory(config)
    lines = [
        f"{config.n_layers} layers, d_model {config.d_model}, vocabulary {config.vocab_size:,}",
        f"{total:,} parameters ({total / 1e9:.3g} billion)",
        f"  embeddings {shares['embeddings']:.0%}, attention {shares['attention']:.0%},"
        f" MLP {shares['mlp']:.0%}",
        "memory:",
        f"  store  {weight_bytes(config, 'bf16') / GB:10.3g} GB  (bf16 weights)",
        f"  train  {train.total / GB:10.3g} GB  (Adam, 16 bytes/parameter"
        f" + activations of 1 × {tokens:,} tokens)",
        f"  serve  {serve.total / GB:10.3g} GB  (bf16 weights + KV cache of 1 × {tokens:,} tokens)",
    ]
    return "\n".join(lines)


class ScaleExplorer(widgets.VBox):
    """Sliders for layers, width and vocabulary, and a live :func:`scale_summary` (chapter 1).

    Width moves in steps of the base model's head size, so the number of heads follows it,
    and the MLP keeps the base model's ratio d_ff / d_model. Read the controls as
    ``.layers``, ``.width`` and ``.vocabulary``, the text as ``.text``.
    """

    def __init__(self, base: ModelConfig):
        instance_of("base", base, ModelConfig)
        if base.n_kv_heads != base.n_heads or base.head_dim * base.n_heads != base.d_model:
            raise ValueError("base must use multi-head attention with d_model = n_heads·head_dim")
        self.base = base
        style = {"description_width": "120px"}
        layout = widgets.Layout(width="520px")
        self.layers = widgets.IntSlider(
            value=base.n_layers, min=1, max=128, description="layers", style=style, layout=layout
        )
        self.width = widgets.IntSlider(
            value=base.d_model,
            min=base.head_dim,
            max=256 * base.head_dim,
            step=base.head_dim,
            description="width (d_model)",
            style=style,
            layout=layout,
        )
        self.vocabulary = widgets.IntSlider(
            value=base.vocab_size,
            min=256,
            max=262_144,
            description="vocabulary",
            style=style,
            layout=layout,
        )
        self.result = widgets.HTML()
        for control in (self.layers, self.width, self.vocabulary):
            control.observe(self._update, names="value")
        super().__init__([self.layers, self.width, self.vocabulary, self.result])
        self._update()

    @property
    def config(self) -> ModelConfig:
        """The base model with the sliders' layers, width and vocabulary."""
        width = self.width.value
        return self.base.replace(
            n_layers=self.layers.value,
            d_model=width,
            n_heads=width // self.base.head_dim,
            d_ff=max(1, round(self.base.d_ff * width / self.base.d_model)),
            vocab_size=self.vocabulary.value,
        )

    @property
    def text(self) -> str:
        """What the explorer shows, as plain text."""
        return scale_summary(self.config)

    def _update(self, change=None) -> None:
        self.result.value = f"<pre>{html.escape(self.text)}</pre>"


def scale_explorer(base: str | ModelConfig = "gpt2") -> ScaleExplorer:
    """Build the chapter 1 explorer around a preset name or a config (default: GPT-2 small)."""
    if isinstance(base, str):
        base = PRESETS[choice("base", base, PRESETS)].config
    return ScaleExplorer(base)
