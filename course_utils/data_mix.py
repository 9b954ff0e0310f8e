"""Planning what a model reads: token budgets, mixture weights and sampling (chapter 4).

A training run has a token budget (chapter 2: about 20 tokens per parameter for a
compute-optimal run) and several sources of text. The *mixture* says what share of the
budget each source gets; a source smaller than its share is repeated (more than one
epoch), a larger one is only partly read.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from course_utils.checks import int_at_least, number_at_least, positive_array, positive_number

#: The course's illustrative mix (from the course text). It is not taken from any one paper:
#: its shape, mostly filtered web crawl with code second, resembles LLaMA-1's (Touvron et al.
#: 2023, Table 1: 82% web incl. C4) and GPT-3's (Brown et al. 2020, Table 2.2: 82% web incl.
#: WebText2), with a larger code share, as in later code-heavy mixes such as Llama 3's.
TRAINING_DATA_MIX: dict[str, float] = {
    "web_crawl": 0.60,  # Common Crawl, filtered
    "code": 0.15,  # GitHub repositories
    "books": 0.08,  # Book corpora
    "conversations": 0.08,  # Forums, Q&A sites
    "scientific": 0.05,  # arXiv papers
    "wikipedia": 0.04,  # Wikipedia dumps
}

#: Published mixtures as sampling proportions, each source with its TRAINING_DATA_MIX category.
#: Proportions are as printed, so a mix may sum to 1.01 through rounding (GPT-3).
PUBLISHED_MIXES: dict[str, dict[str, tuple[float, str]]] = {
    # Touvron et al. 2023, "LLaMA", Table 1 (sampling proportion).
    "LLaMA-1 (2023)": {
        "CommonCrawl": (0.670, "web_crawl"),
        "C4": (0.150, "web_crawl"),
        "Github": (0.045, "code"),
        "Wikipedia": (0.045, "wikipedia"),
        "Books": (0.045, "books"),
        "ArXiv": (0.025, "scientific"),
        "StackExchange": (0.020, "conversations"),
    },
    # Brown et al. 2020, "Language Models are Few-Shot Learners", Table 2.2 (weight in mix).
    "GPT-3 (2020)": {
        "Common Crawl (filtered)": (0.60, "web_crawl"),
        "WebText2": (0.22, "web_crawl"),
        "Books1": (0.08, "books"),
        "Books2": (0.08, "books"),
        "Wikipedia": (0.03, "wikipedia"),
    },
    # Gao et al. 2020, "The Pile", Table 1 (effective size, % of the Pile).
    "The Pile (2020)": {
        "Pile-CC": (0.1811, "web_crawl"),
        "PubMed Central": (0.1440, "scientific"),
        "Books3": (0.1207, "books"),
        "OpenWebText2": (0.1001, "web_crawl"),
        "ArXiv": (0.0896, "scientific"),
        "Github": (0.0759, "code"),
        "FreeLaw": (0.0612, "other"),
        "Stack Exchange": (0.0513, "conversations"),
        "USPTO Backgrounds": (0.0365, "other"),
        "PubMed Abstracts": (0.0307, "scientific"),
        "Gutenberg (PG-19)": (0.0217, "books"),
        "OpenSubtitles": (0.0155, "conversations"),
        "Wikipedia (en)": (0.0153, "wikipedia"),
        "DM Mathematics": (0.0124, "scientific"),
        "Ubuntu IRC": (0.0088, "conversations"),
        "BookCorpus2": (0.0075, "books"),
        "EuroParl": (0.0073, "other"),
        "HackerNews": (0.0062, "conversations"),
        "YoutubeSubtitles": (0.0060, "conversations"),
        "PhilPapers": (0.0038, "scientific"),
        "NIH ExPorter": (0.0030, "scientific"),
        "Enron Emails": (0.0014, "conversations"),
    },
    # Llama Team 2024, "The Llama 3 Herd of Models", section 3.1.2 (data mix, approximate).
    # Its categories are coarser than TRAINING_DATA_MIX's; "general knowledge" is mostly web.
    "Llama 3 (2024)": {
        "general knowledge": (0.50, "web_crawl"),
        "math and reasoning": (0.25, "scientific"),
        "code": (0.17, "code"),
        "multilingual": (0.08, "other"),
    },
}

#: LLaMA-1's Table 1 (Touvron et al. 2023) beyond the proportions: epochs over each source
#: in the 1.4T-token run, and each source's size on disk in bytes.
LLAMA1_TOTAL_TOKENS = 1.4e12
LLAMA1_EPOCHS = {
    "CommonCrawl": 1.10,
    "C4": 1.06,
    "Github": 0.64,
    "Wikipedia": 2.45,
    "Books": 2.23,
    "ArXiv": 1.06,
    "StackExchange": 1.03,
}
LLAMA1_DISK_BYTES = {
    "CommonCrawl": 3.3e12,
    "C4": 783e9,
    "Github": 328e9,
    "Wikipedia": 83e9,
    "Books": 85e9,
    "ArXiv": 92e9,
    "StackExchange": 78e9,
}


def calculate_tokens_needed(params_billions: float, chinchilla_ratio: float = 20) -> float:
    """Training tokens for a compute-optimal model: parameters x tokens-per-parameter (chapter 4).

    Prints e.g. ``7B model needs 0.1T tokens`` and returns the token count. The default
    ratio of 20 is Chinchilla's (Hoffmann et al. 2022; derived in chapter 2).
    """
    positive_number("params_billions", params_billions)
    positive_number("chinchilla_ratio", chinchilla_ratio)
    tokens = params_billions * chinchilla_ratio * 1e9
    print(f"{params_billions}B model needs {tokens / 1e12:.1f}T tokens")
    return tokens


def validate_mix(mix: Mapping[str, float], tolerance: float = 1e-6) -> dict[str, float]:
    """Return ``mix`` as a dict after checking it is a probability distribution (chapter 4).

    Raises ``ValueError`` for an empty mix, a negative or non-finite weight, or weights that do
    not sum to 1 (within ``tolerance``).
    """
    if not mix:
        raise ValueError("mix must name at least one source")
    weights = {str(source): float(weight) for source, weight in mix.items()}
    for source, weight in weights.items():
        number_at_least(f"mix[{source!r}]", weight, 0)
    total = sum(weights.values())
    if abs(total - 1.0) > tolerance:
        raise ValueError(f"mix weights must sum to 1, got {total:.6g}")
    return weights


def tokens_per_source(mix: Mapping[str, float], total_tokens: float) -> dict[str, float]:
    """How many of ``total_tokens`` each source contributes under ``mix`` (chapter 4)."""
    weights = validate_mix(mix)
    positive_number("total_tokens", total_tokens)
    return {source: weight * total_tokens for source, weight in weights.items()}


def epochs_per_source(
    mix: Mapping[str, float], total_tokens: float, source_tokens: Mapping[str, float]
) -> dict[str, float]:
    """Passes over each source needed to supply its share of the budget (chapter 4).

    epochs = weight x total_tokens / tokens available in the source, as in LLaMA-1's
    Table 1 (Touvron et al. 2023): above 1 the source is repeated, below 1 partly unread.
    """
    budget = tokens_per_source(mix, total_tokens)
    missing = sorted(set(budget) - set(source_tokens))
    if missing:
        raise ValueError(f"source_tokens must give a size for every source; missing {missing}")
    return {
        source: tokens / positive_number(f"source_tokens[{source!r}]", source_tokens[source])
        for source, tokens in budget.items()
    }


def temperature_weights(sizes: Mapping[str, float], temperature: float = 1.0) -> dict[str, float]:
    """Mixture weights p_i proportional to (n_i / N) ** (1 / T) (chapter 4).

    T = 1 samples in proportion to size; larger T flattens the mix towards uniform, giving
    small sources more weight (temperature sampling for multilingual data: Arivazhagan et
    al. 2019, section 4.2, use T = 5; XLM-R, Conneau et al. 2020, section 3.1, and mT5, Xue
    et al. 2021, section 2.1, use alpha = 1/T = 0.3).
    """
    if not sizes:
        raise ValueError("sizes must name at least one source")
    positive_number("temperature", temperature)
    values = positive_array("sizes", [float(v) for v in sizes.values()])
    # Work in logs so very small or very large temperatures stay finite.
    logits = np.log(values / values.sum()) / temperature
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    return dict(zip(sizes, weights.tolist(), strict=True))


def sample_sources(mix: Mapping[str, float], n: int, seed: int = 0) -> list[str]:
    """Draw the source of each of ``n`` training examples from ``mix`` (chapter 4).

    Seeded, so the same call gives the same draws; the fraction of draws from each source
    converges to its weight as ``n`` grows (law of large numbers).
    """
    weights = validate_mix(mix)
    int_at_least("n", n, 0)
    names = list(weights)
    probabilities = np.array([weights[name] for name in names])
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(names), size=n, p=probabilities / probabilities.sum())
    return [names[i] for i in picks]


def sample_documents(
    documents: Mapping[str, list[str]], mix: Mapping[str, float], n: int, seed: int = 0
) -> list[tuple[str, int]]:
    """Draw ``n`` documents as ``(source, index)``, choosing each source by ``mix`` (chapter 4).

    Within a source, documents come in a shuffled order and the order starts again once a
    source is used up: an epoch over that source. Small sources with large weights repeat.
    """
    weights = validate_mix(mix)
    empty = [s for s in weights if weights[s] > 0 and not documents.get(s)]
    if empty:
        raise ValueError(f"documents must hold at least one document per source; none for {empty}")
    rng = np.random.default_rng(seed)
    orders: dict[str, list[int]] = {}
    drawn = []
    for source in sample_sources(weights, n, seed=seed):
        if not orders.get(source):
            orders[source] = rng.permutation(len(documents[source])).tolist()
        drawn.append((source, orders[source].pop()))
    return drawn


def group_by_category(mix: Mapping[str, tuple[float, str]]) -> dict[str, float]:
    """Add up a published mix by TRAINING_DATA_MIX's categories (plus ``"other"``) (chapter 4)."""
    totals: dict[str, float] = {}
    for weight, category in mix.values():
        totals[category] = totals.get(category, 0.0) + weight
    return totals


def llama1_source_tokens() -> dict[str, float]:
    """Tokens available per TRAINING_DATA_MIX category, as implied by LLaMA-1's Table 1 (chapter 4).

    A source read for ``epochs`` passes while supplying ``share`` of 1.4T tokens holds
    share x 1.4T / epochs tokens; sources of one category are added up.
    """
    tokens: dict[str, float] = {}
    for name, (share, category) in PUBLISHED_MIXES["LLaMA-1 (2023)"].items():
        available = share * LLAMA1_TOTAL_TOKENS / LLAMA1_EPOCHS[name]
        tokens[category] = tokens.get(category, 0.0) + available
    return tokens


def plot_mixtures(mixes: Mapping[str, Mapping[str, float]], categories: list[str], ax=None):
    """Stacked horizontal bars: each mixture's share of tokens by category (chapter 4).

    ``mixes`` maps a name to {category: share}; shares are drawn as given (a published mix
    may sum to 1.01 through rounding, GPT-3's does), with a dotted line at 100%.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.6))
    left = np.zeros(len(mixes))
    for category in categories:
        shares = np.array([100 * mix.get(category, 0.0) for mix in mixes.values()])
        ax.barh(list(mixes), shares, left=left, label=category)
        left += shares
    ax.axvline(100, color="black", linestyle=":", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("share of training tokens (%, as published)")
    ax.set_title("Training mixtures by source category")
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    return ax
