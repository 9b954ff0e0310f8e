"""An interactive compute-budget explorer: how to split a budget, and what it costs (chapter 2)."""

from __future__ import annotations

import html

import ipywidgets as widgets

from course_utils.checks import choice, instance_of
from course_utils.compute import ACCELERATORS, training_run
from course_utils.scaling import CHINCHILLA, EPOCH_2024, ScalingLaws

#: The laws the explorer offers, by the name it shows.
EXPLORER_LAWS: dict[str, ScalingLaws] = {
    "Chinchilla as printed (Hoffmann et al. 2022)": CHINCHILLA,
    "Chinchilla refit (Besiroglu et al. 2024)": EPOCH_2024,
}

#: An assumed cloud rental price in US dollars per accelerator-hour: an order of magnitude
#: for illustration, not a quote. Prices vary widely between providers and over time.
ASSUMED_PRICE_PER_HOUR = 2.0


def _count(value: float, unit: str) -> str:
    for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if value >= scale:
            return f"{value:.3g} {unit} ({value / scale:.3g} {word})"
    return f"{value:.3g} {unit}"


def _dollars(amount: float) -> str:
    """An amount to three significant digits: $140,000 rather than $140,434."""
    return f"${float(f'{amount:.3g}'):,.0f}"


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.3g} minutes"
    if seconds < 86_400:
        return f"{seconds / 3600:.3g} hours"
    return f"{seconds / 86_400:.3g} days"


def budget_summary(
    law: ScalingLaws,
    C: float,
    *,
    mfu: float = 0.4,
    accelerator: str = "H100-SXM",
    n_accelerators: int = 1024,
    price_per_accelerator_hour: float = ASSUMED_PRICE_PER_HOUR,
) -> str:
    """What ``C`` FLOPs buy under ``law``: N_opt, D_opt, the loss, the 20x rule, the bill.

    The cost uses chapter 1's :func:`~course_utils.compute.training_run` on ``n_accelerators``
    of ``accelerator`` (a key of ``ACCELERATORS``) at model FLOPs utilisation ``mfu``.
    """
    instance_of("law", law, ScalingLaws)
    choice("accelerator", accelerator, ACCELERATORS)
    N, D = law.exact_optimal_allocation(C)
    loss = law.predict_loss(N, D)
    rule_N, rule_D = law.compute_optimal_allocation(C)
    rule_loss = law.predict_loss(rule_N, rule_D)
    chip = ACCELERATORS[accelerator]
    run = training_run(
        C,
        n_accelerators=n_accelerators,
        peak_flops_per_second=chip.peak_bf16_flops_per_second,
        mfu=mfu,
        price_per_accelerator_hour=price_per_accelerator_hour,
    )
    return "\n".join(
        [
            f"compute budget C = {C:.3g} FLOPs",
            f"N_opt = {_count(N, 'parameters')}",
            f"D_opt = {_count(D, 'tokens')}",
            f"        {D / N:.1f} tokens per parameter",
            f"predicted loss {loss:.3f} nats/token",
            f"20x rule: N = {rule_N:.3g}, D = {rule_D:.3g}, loss {rule_loss:.3f}"
            f" ({rule_loss - loss:+.4f})",
            f"training on {n_accelerators:,} x {chip.name} at {mfu:.0%} MFU:",
            f"  {run.accelerator_hours:.3g} GPU-hours, {_duration(run.seconds)},"
            f" about {_dollars(run.cost)} at ${price_per_accelerator_hour:g}/GPU-hour (assumed)",
        ]
    )


class BudgetExplorer(widgets.VBox):
    """A compute slider (log scale), a choice of law and an MFU slider, with a live summary.

    ``law`` starts the dropdown on that law; a law of your own (a fit) joins the two presets.

    Read the controls as ``.compute``, ``.law`` and ``.mfu``, the text as ``.text`` (chapter 2).
    """

    def __init__(self, law: ScalingLaws = CHINCHILLA, C: float = 1e23):
        instance_of("law", law, ScalingLaws)
        options = list(EXPLORER_LAWS.items())
        if law not in EXPLORER_LAWS.values():
            options.append(("your law", law))
        style = {"description_width": "140px"}
        layout = widgets.Layout(width="560px")
        self.compute = widgets.FloatLogSlider(
            value=C,
            base=10,
            min=18,
            max=27,
            step=0.1,
            description="compute (FLOPs)",
            readout_format=".2e",
            style=style,
            layout=layout,
        )
        self.law = widgets.Dropdown(
            options=options,
            value=law,
            description="scaling law",
            style=style,
            layout=layout,
        )
        self.mfu = widgets.FloatSlider(
            value=0.4,
            min=0.1,
            max=0.7,
            step=0.05,
            description="MFU",
            readout_format=".0%",
            style=style,
            layout=layout,
        )
        self.result = widgets.HTML()
        for control in (self.compute, self.law, self.mfu):
            control.observe(self._update, names="value")
        super().__init__([self.compute, self.law, self.mfu, self.result])
        self._update()

    @property
    def text(self) -> str:
        """What the explorer shows, as plain text."""
        return budget_summary(self.law.value, self.compute.value, mfu=self.mfu.value)

    def _update(self, change=None) -> None:
        self.result.value = f"<pre>{html.escape(self.text)}</pre>"


def compute_budget_explorer(law: ScalingLaws = CHINCHILLA, C: float = 1e23) -> BudgetExplorer:
    """The chapter 2 explorer: slide the compute budget, read N_opt, D_opt and the cost."""
    return BudgetExplorer(law, C)
