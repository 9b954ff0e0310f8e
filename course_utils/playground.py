"""A generation playground: what a model predicts next, and how sampling picks (chapters 0, 5).

Type a prompt, move the temperature, top-k and top-p sliders, and see the model's next-token
distribution (its most likely tokens as bars, those that sampling may still pick highlighted)
and the continuation it writes. Sampling is seeded, so the same settings always give the same
text: only a slider changes it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import torch

from course_utils.checks import instance_of, int_at_least, positive_int
from course_utils.generation import check_sampling, filter_logits, generate_text
from course_utils.model import DecoderLM

SHOWN_TOKENS = 12  # bars in the chart
KEPT_COLOUR, DROPPED_COLOUR = "#1f77b4", "#c7c7c7"


def token_label(token: str) -> str:
    """A token as the chart shows it: a space is ␣, a newline ↵, other invisibles escaped."""
    return "".join(
        "␣" if char == " " else "↵" if char == "\n" else char if char.isprintable() else
        repr(char)[1:-1]
        for char in token
    )  # fmt: skip


@dataclass(frozen=True)
class NextToken:
    """One candidate for the next token: its text, its probability, whether sampling keeps it."""

    token: str
    probability: float
    kept: bool


@torch.no_grad()
def next_token_candidates(
    model: DecoderLM,
    tokenizer,
    prompt: str,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    n: int = SHOWN_TOKENS,
) -> list[NextToken]:
    """The ``n`` most likely next tokens after ``prompt``, most likely first (chapter 0).

    Probabilities are the model's after dividing the logits by ``temperature`` (at 0, greedy,
    the unscaled ones); ``kept`` says whether top-k and top-p leave the token in the running
    (at temperature 0 only the most likely one). Only the prompt's last ``max_seq_len`` tokens
    are read.
    """
    instance_of("model", model, DecoderLM)
    positive_int("n", n)
    temperature, top_k, top_p = check_sampling(temperature, top_k, top_p)
    ids = tokenizer.encode(instance_of("prompt", prompt, str))
    if not ids:
        raise ValueError("prompt must not be empty")
    idx = torch.tensor([ids[-model.config.max_seq_len :]], device=model.output_weight.device)
    was_training = model.training
    model.eval()
    logits = model(idx)[:, -1].float().cpu()
    model.train(was_training)
    if temperature == 0:
        probabilities = torch.softmax(logits, dim=-1)[0]
        kept = torch.zeros_like(probabilities, dtype=torch.bool)
        kept[probabilities.argmax()] = True
    else:
        probabilities = torch.softmax(logits / temperature, dim=-1)[0]
        kept = ~torch.isinf(filter_logits(logits, temperature, top_k, top_p))[0]
    top = probabilities.topk(min(n, probabilities.numel()))
    return [
        NextToken(tokenizer.decode([i]), p, bool(kept[i]))
        for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    ]


def candidates_text(candidates: list[NextToken]) -> str:
    """The candidates as plain-text lines: token, probability, a bar, and whether it is kept."""
    return "\n".join(
        f"{token_label(c.token):>4} {c.probability:6.1%} {'█' * round(40 * c.probability):<40}"
        f" {'kept' if c.kept else 'cut'}"
        for c in candidates
    )


def candidates_chart(candidates: list[NextToken]) -> str:
    """The candidates as an HTML bar chart: kept tokens in blue, cut ones in grey."""
    rows = []
    for c in candidates:
        colour = KEPT_COLOUR if c.kept else DROPPED_COLOUR
        rows.append(
            "<div style='display:flex;align-items:center;height:18px'>"
            f"<code style='width:3em;text-align:right'>{html.escape(token_label(c.token))}</code>"
            "<span style='width:4.5em;text-align:right;margin-right:6px'>"
            f"{c.probability:.1%}</span>"
            f"<span style='display:inline-block;height:12px;width:{400 * c.probability:.0f}px;"
            f"background:{colour}'></span>"
            f"<span style='margin-left:6px;color:#666'>{'kept' if c.kept else 'cut'}</span></div>"
        )
    title = (
        "<b>Next-token probabilities</b> (top tokens; <span style='color:"
        f"{KEPT_COLOUR}'>blue</span>: sampling may pick it, grey: cut by top-k/top-p)"
    )
    return title + "".join(rows)


class Playground(widgets.VBox):
    """Prompt, temperature, top-k and top-p, with the next-token chart and a continuation.

    Read the controls as ``.prompt``, ``.temperature``, ``.top_k`` (0 = off) and ``.top_p``
    (1 = off); what it shows, as plain text, as ``.text``. The continuation is
    :func:`~course_utils.generation.generate_text` with ``seed``: the same settings give the
    same text (chapters 0 and 5).
    """

    def __init__(
        self,
        model: DecoderLM,
        tokenizer,
        prompt: str = "Once upon a time",
        max_new_tokens: int = 200,
        seed: int = 0,
    ):
        self.model = instance_of("model", model, DecoderLM)
        self.tokenizer = tokenizer
        self.max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
        self.seed = int_at_least("seed", seed, 0)
        style = {"description_width": "110px"}
        layout = widgets.Layout(width="480px")
        common = {"style": style, "layout": layout, "continuous_update": False}
        self.prompt = widgets.Text(value=prompt, description="prompt", **common)
        self.temperature = widgets.FloatSlider(
            value=0.8, min=0.0, max=2.0, step=0.05, description="temperature", **common
        )
        self.top_k = widgets.IntSlider(
            value=0, min=0, max=40, description="top-k (0 = off)", **common
        )
        self.top_p = widgets.FloatSlider(
            value=1.0, min=0.05, max=1.0, step=0.05, description="top-p (1 = off)", **common
        )
        self.chart = widgets.HTML()
        self.continuation = widgets.HTML()
        controls = (self.prompt, self.temperature, self.top_k, self.top_p)
        for control in controls:
            control.observe(self._update, names="value")
        super().__init__([*controls, self.chart, self.continuation])
        self._update()

    @property
    def settings(self) -> dict:
        """The sampling settings the sliders stand for (``None``: that filter is off)."""
        return {
            "temperature": self.temperature.value,
            "top_k": self.top_k.value or None,
            "top_p": None if self.top_p.value >= 1 else self.top_p.value,
        }

    def candidates(self) -> list[NextToken]:
        """The chart's tokens for the current prompt and settings."""
        return next_token_candidates(self.model, self.tokenizer, self.prompt.value, **self.settings)

    def generated(self) -> str:
        """The continuation of the prompt (without the prompt) under the current settings."""
        text = generate_text(
            self.model,
            self.tokenizer,
            self.prompt.value,
            self.max_new_tokens,
            seed=self.seed,
            **self.settings,
        )
        return text[len(self.prompt.value) :]

    @property
    def text(self) -> str:
        """What the playground shows, as plain text (the chart as lines of █)."""
        try:
            candidates, generated = self.candidates(), self.generated()
        except ValueError as error:
            return f"cannot continue this prompt: {error}"
        return (
            f"next token after {self.prompt.value!r}:\n{candidates_text(candidates)}\n"
            f"continuation (seed {self.seed}): {self.prompt.value}{generated}"
        )

    def _update(self, change=None) -> None:
        try:
            candidates, generated = self.candidates(), self.generated()
        except ValueError as error:
            self.chart.value = f"<b>cannot continue this prompt:</b> {html.escape(str(error))}"
            self.continuation.value = ""
            return
        self.chart.value = candidates_chart(candidates)
        shown = html.escape(self.prompt.value) + "<b>" + html.escape(generated) + "</b>"
        self.continuation.value = (
            f"<div style='max-width:720px'>continuation (seed {self.seed}, "
            f"{self.max_new_tokens} characters, the prompt in plain type): "
            f"<span style='font-family:monospace'>{shown.replace(chr(10), '↵')}</span></div>"
        )


def playground(model: DecoderLM | None = None, tokenizer=None, **kwargs) -> Playground:
    """The playground around ``model`` and ``tokenizer`` (default: the course's shipped model)."""
    if model is None:
        from course_utils.course_model import load_course_model

        if tokenizer is not None:
            raise ValueError("give a tokenizer only together with its model")
        model, tokenizer = load_course_model()
    elif tokenizer is None:
        raise ValueError("give the model's tokenizer too")
    return Playground(model, tokenizer, **kwargs)


def plot_next_token_distribution(
    model: DecoderLM,
    tokenizer,
    prompt: str,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    n: int = SHOWN_TOKENS,
    ax=None,
):
    """Bar chart of :func:`next_token_candidates`: kept tokens in blue, cut ones in grey."""
    import matplotlib.pyplot as plt

    candidates = next_token_candidates(model, tokenizer, prompt, temperature, top_k, top_p, n)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    labels = [token_label(c.token) for c in candidates]
    colours = [KEPT_COLOUR if c.kept else DROPPED_COLOUR for c in candidates]
    ax.bar(range(len(candidates)), [c.probability for c in candidates], color=colours)
    ax.set_xticks(range(len(candidates)), labels)
    ax.set_xlabel("next token (␣ is a space)")
    ax.set_ylabel("probability")
    ax.set_title(f"What the model predicts after {prompt[-30:]!r}", fontsize=10)
    return ax
