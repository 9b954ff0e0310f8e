import math

import numpy as np
import pytest
from scipy import stats

from course_utils.data_mix import (
    LLAMA1_DISK_BYTES,
    LLAMA1_EPOCHS,
    LLAMA1_TOTAL_TOKENS,
    PUBLISHED_MIXES,
    TRAINING_DATA_MIX,
    calculate_tokens_needed,
    epochs_per_source,
    group_by_category,
    sample_documents,
    sample_sources,
    temperature_weights,
    tokens_per_source,
    validate_mix,
)


def test_seed_mix_is_kept_as_given_and_is_a_distribution():
    assert TRAINING_DATA_MIX == {
        "web_crawl": 0.60,
        "code": 0.15,
        "books": 0.08,
        "conversations": 0.08,
        "scientific": 0.05,
        "wikipedia": 0.04,
    }
    assert validate_mix(TRAINING_DATA_MIX) == TRAINING_DATA_MIX


def test_calculate_tokens_needed_prints_like_the_seed(capsys):
    assert [calculate_tokens_needed(size) for size in (7, 13, 70)] == [1.4e11, 2.6e11, 1.4e12]
    assert capsys.readouterr().out.splitlines() == [
        "7B model needs 0.1T tokens",
        "13B model needs 0.3T tokens",
        "70B model needs 1.4T tokens",
    ]
    assert calculate_tokens_needed(1, chinchilla_ratio=10) == 1e10


@pytest.mark.parametrize("bad", [0, -7, float("nan"), "7", True])
def test_calculate_tokens_needed_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="params_billions"):
        calculate_tokens_needed(bad)


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ({"a": 0.5, "b": 0.6}, "sum to 1"),
        ({"a": 1.2, "b": -0.2}, r"mix\['b'\] must be a finite number >= 0, got -0.2"),
        ({"a": float("nan"), "b": 1.0}, r"mix\['a'\] must be a finite number >= 0, got nan"),
        ({}, "at least one"),
    ],
)
def test_bad_mixes_are_refused(mix, message):
    with pytest.raises(ValueError, match=message):
        validate_mix(mix)
    with pytest.raises(ValueError, match=message):
        sample_sources(mix, 10)


def test_tokens_and_epochs_per_source():
    budget = tokens_per_source({"web": 0.75, "books": 0.25}, 1000)
    assert budget == {"web": 750, "books": 250}
    epochs = epochs_per_source({"web": 0.75, "books": 0.25}, 1000, {"web": 1500, "books": 100})
    assert epochs == {"web": 0.5, "books": 2.5}
    with pytest.raises(ValueError, match="missing"):
        epochs_per_source({"web": 1.0}, 1000, {})


def test_llama1_table_is_consistent_with_its_own_disk_sizes():
    """Epochs x disk size / (share x 1.4T tokens) is the bytes per token of each source.

    For the English text sources it comes out at 2.5-5 bytes per token, what a BPE tokenizer
    achieves on English: the published columns of Table 1 hang together.
    """
    mix = {name: weight for name, (weight, _) in PUBLISHED_MIXES["LLaMA-1 (2023)"].items()}
    tokens_in_source = {name: mix[name] * LLAMA1_TOTAL_TOKENS / LLAMA1_EPOCHS[name] for name in mix}
    recovered = epochs_per_source(mix, LLAMA1_TOTAL_TOKENS, tokens_in_source)
    assert recovered == pytest.approx(LLAMA1_EPOCHS)
    for name in ("CommonCrawl", "C4", "Wikipedia", "Books", "StackExchange"):
        bytes_per_token = LLAMA1_DISK_BYTES[name] / tokens_in_source[name]
        assert 2.5 < bytes_per_token < 5, (name, bytes_per_token)


@pytest.mark.parametrize("name", PUBLISHED_MIXES)
def test_published_mixes_sum_to_one_up_to_rounding(name):
    total = sum(weight for weight, _ in PUBLISHED_MIXES[name].values())
    assert total == pytest.approx(1.0, abs=0.011)
    categories = group_by_category(PUBLISHED_MIXES[name])
    assert set(categories) <= set(TRAINING_DATA_MIX) | {"other"}


def test_temperature_weights():
    sizes = {"big": 900.0, "small": 100.0}
    assert temperature_weights(sizes, 1.0) == pytest.approx({"big": 0.9, "small": 0.1})
    # XLM-R's alpha = 0.3: p proportional to q**0.3, computed independently.
    q = np.array([0.9, 0.1]) ** 0.3
    assert list(temperature_weights(sizes, 1 / 0.3).values()) == pytest.approx(q / q.sum())
    assert temperature_weights(sizes, 1e6)["small"] == pytest.approx(0.5, abs=1e-5)
    flatter = [temperature_weights(sizes, t)["small"] for t in (0.5, 1, 2, 5, 100)]
    assert flatter == sorted(flatter)
    with pytest.raises(ValueError, match="temperature"):
        temperature_weights(sizes, 0)
    with pytest.raises(ValueError, match="sizes"):
        temperature_weights({"a": 0.0}, 1)


def test_sampler_is_seeded_and_converges_to_the_weights():
    assert sample_sources(TRAINING_DATA_MIX, 50, seed=1) == sample_sources(
        TRAINING_DATA_MIX, 50, seed=1
    )
    assert sample_sources(TRAINING_DATA_MIX, 50, seed=1) != sample_sources(
        TRAINING_DATA_MIX, 50, seed=2
    )
    names = list(TRAINING_DATA_MIX)
    weights = np.array(list(TRAINING_DATA_MIX.values()))
    errors = []
    for n in (100, 10_000, 200_000):
        draws = sample_sources(TRAINING_DATA_MIX, n, seed=0)
        counts = np.array([draws.count(name) for name in names])
        errors.append(np.abs(counts / n - weights).max())
    assert errors[-1] < 0.005
    assert errors[-1] < errors[0]
    # And the counts are what a multinomial with these weights gives (chi-square test).
    assert stats.chisquare(counts, weights * counts.sum()).pvalue > 1e-3


def test_sample_documents_cycles_through_each_source():
    documents = {"web": ["w0", "w1", "w2"], "books": ["b0"]}
    drawn = sample_documents(documents, {"web": 0.5, "books": 0.5}, 400, seed=3)
    web = [i for source, i in drawn if source == "web"]
    # Every block of three web draws is one epoch: each document exactly once.
    for start in range(0, len(web) - len(web) % 3, 3):
        assert sorted(web[start : start + 3]) == [0, 1, 2]
    assert {i for source, i in drawn if source == "books"} == {0}
    with pytest.raises(ValueError, match="at least one document"):
        sample_documents({"web": []}, {"web": 1.0}, 3)
    assert math.isclose(len(web) / 400, 0.5, abs_tol=0.08)


def test_llama1_source_tokens_by_category():
    from course_utils.data_mix import llama1_source_tokens

    tokens = llama1_source_tokens()
    assert set(tokens) == set(TRAINING_DATA_MIX)
    # Wikipedia: 4.5% of 1.4T read 2.45 times -> 25.7B tokens
    assert tokens["wikipedia"] == pytest.approx(0.045 * 1.4e12 / 2.45)
    # Reading all of them once each would take about 1.26T tokens
    assert sum(tokens.values()) == pytest.approx(1.263e12, rel=1e-3)


def test_plot_mixtures_stacks_each_category_as_published():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.data_mix import PUBLISHED_MIXES, group_by_category, plot_mixtures

    mixes = {name: group_by_category(mix) for name, mix in PUBLISHED_MIXES.items()}
    categories = [*TRAINING_DATA_MIX, "other"]
    ax = plot_mixtures(mixes, categories)
    assert ax.get_title() and "%" in ax.get_xlabel()
    assert len(ax.patches) == len(mixes) * len(categories)
    ends = [max(p.get_x() + p.get_width() for p in ax.patches if p.get_y() == bar.get_y())
            for bar in ax.patches[: len(mixes)]]  # fmt: skip
    totals = [100 * sum(mix.values()) for mix in mixes.values()]
    assert ends == pytest.approx(totals)
    assert max(totals) > 100  # GPT-3's printed weights: drawn as published, not normalised
    assert len(ax.get_legend().get_texts()) == len(categories)
