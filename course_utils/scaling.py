"""Scaling laws: predicting loss from model size and data, and spending compute well (chapter 2).

Hoffmann et al. (2022, eq. 2) model the final pre-training loss of a language model with N
parameters trained on D tokens as

    L(N, D) = E + A / N**alpha + B / D**beta

E is the loss no model can beat (the entropy of text), A / N**alpha what a finite model costs,
B / D**beta what finite data costs. Training costs C = 6·N·D FLOPs (chapter 1's
:func:`~course_utils.compute.training_flops`), so a compute budget fixes the product N·D and
the law says how to split it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from course_utils.checks import (
    choice,
    instance_of,
    number_at_least,
    positive_array,
    positive_number,
    scalar_or_array,
)
from course_utils.compute import training_flops
from course_utils.presets import PRESETS

#: The 6 in C = 6·N·D: training FLOPs per parameter per token (chapter 1).
FLOPS_PER_PARAMETER_TOKEN = training_flops(1.0, 1.0)

#: Inference costs about 2·N FLOPs per token: the forward pass only (Kaplan et al. 2020,
#: section 2.1, Table 1).
INFERENCE_FLOPS_PER_PARAMETER_TOKEN = 2.0

#: The rule of thumb "20 tokens per parameter": Hoffmann et al. (2022) trained Chinchilla
#: (70B) on 1.4T tokens (section 4.1), and their Approach 1 projections in Table 3 are close
#: to 20 tokens per parameter (1B → 20.2B tokens, 67B → 1.5T, 175B → 3.7T).
TOKENS_PER_PARAMETER_RULE = 20


@dataclass(frozen=True)
class ScalingLaws:
    """The Chinchilla form L(N, D) = E + A/N^alpha + B/D^beta (chapter 2).

    Defaults are Hoffmann et al. (2022)'s Approach 3 fit as printed (:data:`CHINCHILLA`).
    N counts all parameters, D training tokens; L is in nats per token on their data set.
    Every method works elementwise on numpy arrays.
    """

    E: float = 1.69
    A: float = 406.4
    B: float = 410.7
    alpha: float = 0.34
    beta: float = 0.28

    def __post_init__(self) -> None:
        number_at_least("E", self.E, 0)
        for name in ("A", "B", "alpha", "beta"):
            positive_number(name, getattr(self, name))

    # -- the starter code's interface -------------------------------------------------------

    def predict_loss(self, N, D):
        """Predicted loss in nats per token of a model with N parameters trained on D tokens."""
        N, D = positive_array("N", N), positive_array("D", D)
        return scalar_or_array(self.E + self.A / N**self.alpha + self.B / D**self.beta)

    def optimal_tokens(self, N):
        """The 20-tokens-per-parameter rule of thumb: D = 20·N (not this law's own optimum)."""
        return scalar_or_array(TOKENS_PER_PARAMETER_RULE * positive_array("N", N))

    def compute_optimal_allocation(self, compute_budget):
        """The starter code's allocation: N = sqrt(C/120), D = 20·N, as integers.

        120 = 6 · 20: it spends C = 6·N·D with D = 20·N. It ignores the law's constants, so it
        is the law's own optimum only by coincidence; see :meth:`exact_optimal_allocation`.
        """
        budget = positive_array("compute_budget", compute_budget)
        N = np.sqrt(budget / (FLOPS_PER_PARAMETER_TOKEN * TOKENS_PER_PARAMETER_RULE))
        D = TOKENS_PER_PARAMETER_RULE * N
        if N.ndim == 0:
            return int(N), int(D)
        return N.astype(np.int64), D.astype(np.int64)

    # -- the law's own compute-optimal frontier --------------------------------------------

    @property
    def params_exponent(self) -> float:
        """Hoffmann's a = beta/(alpha+beta): N_opt grows as C**a (eq. 4, Table 2)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def tokens_exponent(self) -> float:
        """Hoffmann's b = alpha/(alpha+beta): D_opt grows as C**b (eq. 4, Table 2)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        """G = (alpha·A / (beta·B))**(1/(alpha+beta)), the frontier's prefactor (eq. 4)."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))

    def exact_optimal_allocation(self, C):
        """(N_opt, D_opt) minimising the loss at C = 6·N·D FLOPs, in closed form.

        Hoffmann et al. (2022), section 3.3 and eq. 4: N_opt = G·(C/6)**a and
        D_opt = G**-1·(C/6)**b. Floats, not rounded.
        """
        flops_over_6 = positive_array("C", C) / FLOPS_PER_PARAMETER_TOKEN
        N = self.G * flops_over_6**self.params_exponent
        D = flops_over_6 / N
        return scalar_or_array(N), scalar_or_array(D)

    def tokens_per_parameter(self, C):
        """D_opt / N_opt at budget C: G**-2 · (C/6)**((alpha-beta)/(alpha+beta)).

        Constant (and then a single "tokens per parameter" rule exists) only when alpha = beta.
        """
        N, D = self.exact_optimal_allocation(C)
        return D / N

    def optimal_loss(self, C):
        """The lowest loss C FLOPs can buy: L(N_opt, D_opt)."""
        return self.predict_loss(*self.exact_optimal_allocation(C))

    def compute_for_loss(self, loss):
        """The fewest FLOPs that reach ``loss`` (the inverse of :meth:`optimal_loss`).

        At the optimum both terms fall as (C/6)**-gamma with gamma = alpha·beta/(alpha+beta),
        so L_opt(C) = E + K·(C/6)**-gamma with K = A·G**-alpha + B·G**beta.
        """
        loss = positive_array("loss", loss)
        if np.any(loss <= self.E):
            raise ValueError(f"loss must be greater than the irreducible loss E={self.E}")
        gamma = self.alpha * self.beta / (self.alpha + self.beta)
        K = self.A * self.G**-self.alpha + self.B * self.G**self.beta
        return scalar_or_array(FLOPS_PER_PARAMETER_TOKEN * (K / (loss - self.E)) ** (1 / gamma))

    def describe(self, digits: int = 4) -> str:
        """The five constants and the frontier exponents, to ``digits`` significant digits."""
        g = f".{digits}g"
        return (
            f"E={self.E:{g}}, A={self.A:{g}}, B={self.B:{g}}, alpha={self.alpha:{g}}, "
            f"beta={self.beta:{g}}  (a={self.params_exponent:.3f}, b={self.tokens_exponent:.3f})"
        )


#: Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models"), section 3.3 and
#: Appendix D.2: the Approach 3 fit as printed, E=1.69, A=406.4, B=410.7, alpha=0.34,
#: beta=0.28. The exponents are rounded: the unrounded 0.3392 and 0.2849 (Besiroglu et al.
#: 2024, section 2) give Table 2's a=0.46; these give 0.45.
CHINCHILLA = ScalingLaws(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)

#: Besiroglu, Erdil, Barnett and You 2024 ("Chinchilla Scaling: A replication attempt",
#: arXiv:2404.10102), Table 1: Approach 3 refitted to 240 (N, D, L) points read off Hoffmann et
#: al.'s Figure 4: E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658 (bootstrap
#: standard errors 0.03, 124.58, 1293.23, 0.02, 0.02). Its a=0.513 agrees with Approaches 1-2.
EPOCH_2024 = ScalingLaws(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)

#: Hoffmann et al. 2022, Table 2: the exponents a (N_opt ∝ C**a) and b (D_opt ∝ C**b) each
#: approach found, and Kaplan et al. (2020)'s.
HOFFMANN_TABLE_2: dict[str, tuple[float, float]] = {
    "Approach 1 (minimum over training curves)": (0.50, 0.50),
    "Approach 2 (isoFLOP profiles)": (0.49, 0.51),
    "Approach 3 (parametric fit)": (0.46, 0.54),
    "Kaplan et al. (2020)": (0.73, 0.27),
}


# -- Kaplan et al. 2020 -----------------------------------------------------------------------


@dataclass(frozen=True)
class KaplanLaws:
    """Kaplan et al. (2020)'s power laws, for comparison with Chinchilla's (chapter 2).

    N counts **non-embedding** parameters only; D is in GPT-2 BPE tokens of WebText2 and the
    loss is in nats per token on that data, so the numbers do not compare directly with
    :class:`ScalingLaws` (different data, tokenizer and parameter count). There is no
    irreducible term E.
    """

    alpha_N: float
    alpha_D: float
    N_c: float
    D_c: float

    def __post_init__(self) -> None:
        for name in ("alpha_N", "alpha_D", "N_c", "D_c"):
            positive_number(name, getattr(self, name))

    def loss_from_parameters(self, N):
        """L(N) = (N_c/N)**alpha_N: models trained to convergence on ample data (eq. 1.1)."""
        return scalar_or_array((self.N_c / positive_array("N", N)) ** self.alpha_N)

    def loss_from_tokens(self, D):
        """L(D) = (D_c/D)**alpha_D: large models trained with early stopping (eq. 1.2)."""
        return scalar_or_array((self.D_c / positive_array("D", D)) ** self.alpha_D)

    def predict_loss(self, N, D):
        """L(N, D) = ((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D (eq. 1.5)."""
        N, D = positive_array("N", N), positive_array("D", D)
        inner = (self.N_c / N) ** (self.alpha_N / self.alpha_D) + self.D_c / D
        return scalar_or_array(inner**self.alpha_D)


#: Kaplan et al. 2020 ("Scaling Laws for Neural Language Models"), section 1.2, eqs. 1.1 and
#: 1.2: the single-variable fits L(N) (alpha_N=0.076, N_c=8.8e13 non-embedding parameters)
#: and L(D) (alpha_D=0.095, D_c=5.4e13 tokens). Use loss_from_parameters / loss_from_tokens.
KAPLAN_SINGLE_VARIABLE = KaplanLaws(alpha_N=0.076, alpha_D=0.095, N_c=8.8e13, D_c=5.4e13)

#: Kaplan et al. 2020, eq. 1.5 with Table 2 (section 4): the joint fit L(N, D), alpha_N=0.076,
#: alpha_D=0.103, N_c=6.4e13, D_c=1.8e13. Its D and N_c differ from the single-variable fits.
KAPLAN_JOINT = KaplanLaws(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13)

#: Kaplan et al. 2020, section 6.1 (Figure 14): compute-efficient training grows the model as
#: N ∝ C**0.73 (and the data only as C**0.27: Hoffmann et al. 2022, Table 2).
KAPLAN_PARAMS_EXPONENT = 0.73


# -- isoFLOP profiles and the frontier ----------------------------------------------------------


def tokens_for_budget(C, N):
    """D = C / (6·N): the tokens a budget of C FLOPs buys for a model of N parameters."""
    return scalar_or_array(
        positive_array("C", C) / (FLOPS_PER_PARAMETER_TOKEN * positive_array("N", N))
    )


def isoflop_profile(law: ScalingLaws, C: float, N):
    """Loss of models of size N each trained with exactly C FLOPs (Hoffmann et al. 2022, 3.2)."""
    instance_of("law", law, ScalingLaws, "(e.g. CHINCHILLA)")
    return law.predict_loss(N, tokens_for_budget(C, N))


def isoflop_minimum(law: ScalingLaws, C) -> tuple:
    """(N, D) at the bottom of the isoFLOP profile at C, found numerically (chapter 2).

    A bounded Brent search over log N between 1 parameter and 1 token: it does not use the
    closed form, so it checks :meth:`ScalingLaws.exact_optimal_allocation`.
    """
    instance_of("law", law, ScalingLaws, "(e.g. CHINCHILLA)")
    budgets = positive_array("C", C)
    sizes = np.empty_like(budgets)
    for index, budget in np.ndenumerate(budgets):
        upper = np.log(budget / FLOPS_PER_PARAMETER_TOKEN)
        result = minimize_scalar(
            lambda log_n, budget=budget: isoflop_profile(law, budget, np.exp(log_n)),
            bounds=(0.0, upper),
            method="bounded",
            options={"xatol": 1e-9},
        )
        sizes[index] = np.exp(result.x)
    return scalar_or_array(sizes), tokens_for_budget(budgets, sizes)


def frontier_exponents(C, N_opt, D_opt) -> tuple[float, float]:
    """Slopes a, b of log N_opt and log D_opt against log C (least squares, as in Table 2)."""
    log_c = np.log(positive_array("C", C))
    if log_c.ndim != 1 or log_c.size < 2:
        raise ValueError("C must be a 1-D array of at least two budgets")
    log_n, log_d = np.log(positive_array("N_opt", N_opt)), np.log(positive_array("D_opt", D_opt))
    if log_n.shape != log_c.shape or log_d.shape != log_c.shape:
        raise ValueError("C, N_opt and D_opt must have the same shape")
    a = np.polyfit(log_c, log_n, 1)[0]
    b = np.polyfit(log_c, log_d, 1)[0]
    return float(a), float(b)


# -- real models on the frontier ---------------------------------------------------------------

#: The models chapter 2 places on the frontier (keys of chapter 1's PRESETS).
FRONTIER_MODELS = ("gpt3-175b", "gopher-280b", "chinchilla-70b", "llama-2-7b", "llama-3-8b")


@dataclass(frozen=True)
class FrontierPosition:
    """Where a trained model sits relative to a law's compute-optimal frontier (chapter 2)."""

    name: str
    n_params: float
    n_tokens: float
    optimal_params: float  # N_opt at the model's own training compute
    optimal_tokens: float

    @property
    def flops(self) -> float:
        return training_flops(self.n_params, self.n_tokens)

    @property
    def tokens_per_parameter(self) -> float:
        return self.n_tokens / self.n_params

    @property
    def optimal_tokens_per_parameter(self) -> float:
        return self.optimal_tokens / self.optimal_params

    @property
    def training_ratio(self) -> float:
        """(D/N) / (D/N)_opt: above 1 the model saw more tokens per parameter than optimal."""
        return self.tokens_per_parameter / self.optimal_tokens_per_parameter

    @property
    def verdict(self) -> str:
        """ "over-trained" beyond 2x the optimal ratio, "under-trained" below half of it."""
        if self.training_ratio > 2:
            return "over-trained"
        if self.training_ratio < 0.5:
            return "under-trained"
        return "near compute-optimal"


def frontier_positions(
    law: ScalingLaws, names: Sequence[str] = FRONTIER_MODELS
) -> list[FrontierPosition]:
    """Each named preset (sizes and training tokens from chapter 1) against ``law``'s optimum."""
    instance_of("law", law, ScalingLaws, "(e.g. CHINCHILLA)")
    positions = []
    for name in names:
        preset = PRESETS[choice("names", name, PRESETS)]
        if preset.training_tokens is None:
            raise ValueError(f"{name!r} has no published training tokens")
        n_params, n_tokens = float(preset.published_params), float(preset.training_tokens)
        optimal = law.exact_optimal_allocation(training_flops(n_params, n_tokens))
        positions.append(FrontierPosition(name, n_params, n_tokens, *optimal))
    return positions


# -- paying for inference too -------------------------------------------------------------------


def inference_aware_allocation(
    law: ScalingLaws, loss: float, inference_tokens: float
) -> tuple[float, float]:
    """(N, D) reaching ``loss`` for the fewest training plus inference FLOPs (chapter 2).

    Total cost 6·N·D + 2·N·T for T tokens served over the model's life (Sardana and Frankle
    2024, "Beyond Chinchilla-Optimal", section 2). Every N above N_min = (A/(loss-E))**(1/alpha)
    reaches the loss with D(N) = (B/(loss - E - A/N**alpha))**(1/beta) tokens; we minimise over
    log N numerically. With T = 0 this is the compute-optimal allocation.
    """
    instance_of("law", law, ScalingLaws, "(e.g. CHINCHILLA)")
    loss = float(positive_array("loss", loss))
    if loss <= law.E:
        raise ValueError(f"loss must be greater than the irreducible loss E={law.E}")
    served = number_at_least("inference_tokens", inference_tokens, 0)
    headroom = loss - law.E
    log_n_min = np.log(law.A / headroom) / law.alpha

    def log_tokens(log_n: float) -> float:
        data_term = headroom - law.A * np.exp(-law.alpha * log_n)
        return (np.log(law.B) - np.log(data_term)) / law.beta

    def log_total_flops(log_n: float) -> float:
        training = FLOPS_PER_PARAMETER_TOKEN * np.exp(log_tokens(log_n))
        return log_n + np.log(training + INFERENCE_FLOPS_PER_PARAMETER_TOKEN * served)

    result = minimize_scalar(
        log_total_flops,
        bounds=(log_n_min + 1e-9, log_n_min + 40.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(np.exp(result.x)), float(np.exp(log_tokens(result.x)))


# -- figures ------------------------------------------------------------------------------------


def plot_loss_landscape(
    law: ScalingLaws, budgets: Sequence[float] = tuple(10.0 ** np.arange(20, 27)), ax=None
):
    """The law's loss over (N, D) as contours, with iso-compute lines and the optimum (chapter 2).

    Each budget C is the dashed line N·D = C/6, labelled where it leaves the plot; the black
    curve joins each budget's compute-optimal (N, D) (:meth:`ScalingLaws.exact_optimal_allocation`).
    """
    import matplotlib.pyplot as plt

    instance_of("law", law, ScalingLaws, "(e.g. CHINCHILLA)")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    n_grid, d_grid = np.geomspace(1e8, 1e13, 200), np.geomspace(1e9, 1e14, 200)
    loss = law.predict_loss(n_grid[None, :], d_grid[:, None])
    contours = ax.contourf(
        n_grid, d_grid, loss, levels=np.arange(1.75, 3.01, 0.05), cmap="viridis", extend="max"
    )
    ax.figure.colorbar(contours, ax=ax, label="predicted loss L(N, D) (nats/token)")
    for budget in budgets:
        ax.plot(n_grid, budget / (6 * n_grid), "w--", lw=0.8)
        label_n = max(budget / 6 / 2e13, 1.5e8)  # where the line leaves the top, or the left
        ax.annotate(
            f"$10^{{{np.log10(budget):.0f}}}$",
            (label_n, budget / 6 / label_n),
            color="white",
            fontsize=8,
        )
    path_n, path_d = law.exact_optimal_allocation(np.geomspace(1e19, 1e27, 50))
    ax.plot(path_n, path_d, "k-", lw=2, label="lowest loss for each budget")
    ax.set(xscale="log", yscale="log", xlim=(1e8, 1e13), ylim=(1e9, 1e14))
    ax.set_xlabel("parameters N")
    ax.set_ylabel("training tokens D")
    ax.set_title("Loss over (N, D), with iso-compute lines (FLOPs)")
    ax.legend(loc="lower right")
    return ax


def plot_isoflop_profiles(law: ScalingLaws, budgets: Sequence[float], ax=None):
    """The law's loss along each budget's line D = C / 6N, minima marked (chapter 2).

    Each profile is drawn where it leaves at least 100M tokens; a dot marks its minimum
    (:func:`isoflop_minimum`).
    """
    import matplotlib.pyplot as plt

    instance_of("law", law, ScalingLaws, "(e.g. CHINCHILLA)")
    if ax is None:
        _, ax = plt.subplots()
    n_line = np.geomspace(1e7, 1e13, 400)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(budgets)))
    for budget, color in zip(budgets, colors, strict=True):
        keep = budget / (6 * n_line) > 1e8  # at least 100M tokens
        ax.plot(
            n_line[keep],
            isoflop_profile(law, budget, n_line[keep]),
            color=color,
            label=f"C = $10^{{{np.log10(budget):.0f}}}$ FLOPs",
        )
        best_n, _ = isoflop_minimum(law, budget)
        ax.plot(best_n, law.optimal_loss(budget), "o", color=color)
    ax.set(
        xscale="log",
        ylim=(1.8, 3.6),
        xlabel="parameters N",
        ylabel="predicted loss (nats/token)",
        title="IsoFLOP profiles, minima marked",
    )
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_frontier_positions(
    positions: Sequence[FrontierPosition], laws: dict[str, ScalingLaws], ax=None
):
    """Real models' tokens per parameter against each law's optimal ratio (chapter 2).

    One line per law (:meth:`ScalingLaws.tokens_per_parameter` over 10²¹–10²⁵ FLOPs), the
    20-tokens-per-parameter rule dotted, and a labelled dot per :class:`FrontierPosition`.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    span = np.geomspace(1e21, 1e25, 50)
    for (name, law), style in zip(laws.items(), ("-", "--", "-."), strict=False):
        ax.plot(span, law.tokens_per_parameter(span), style, label=f"optimum, {name}")
    ax.axhline(20, color="grey", lw=1, ls=":", label="20 tokens per parameter")
    for p in positions:
        ax.plot(p.flops, p.tokens_per_parameter, "o", color="black")
        ax.annotate(
            p.name,
            (p.flops, p.tokens_per_parameter),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=9,
        )
    ax.set(
        xscale="log",
        yscale="log",
        ylim=(0.5, 5000),
        xlabel="training compute C (FLOPs)",
        ylabel="training tokens per parameter D/N",
        title="Real models against the compute-optimal ratio",
    )
    ax.legend(loc="upper left")
    return ax
