import random
from itertools import combinations

import numpy as np
import pytest

from course_utils.dedup import (
    MinHasher,
    candidate_probability,
    choose_bands,
    estimated_jaccard,
    exact_duplicates,
    find_near_duplicates,
    jaccard,
    lsh_candidates,
    normalise,
    shingles,
)

VOCABULARY = [f"w{i}" for i in range(5000)]


def random_doc(rng: random.Random, n_words: int = 300) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(n_words))


def edited(rng: random.Random, doc: str, fraction: float) -> str:
    words = doc.split()
    for i in rng.sample(range(len(words)), int(fraction * len(words))):
        words[i] = rng.choice(VOCABULARY)
    return " ".join(words)


def test_normalise_and_exact_duplicates():
    assert normalise("  The  Cat\r\n sat. ") == "the cat sat."
    docs = ["A cat.", "a  CAT.\n", "A dog.", "A cat.", "A bird."]
    assert exact_duplicates(docs) == [[0, 1, 3]]
    assert exact_duplicates(["x", "y"]) == []
    with pytest.raises(ValueError, match="docs"):
        exact_duplicates("not a list")


def test_shingles_and_exact_jaccard():
    assert shingles("a b c d", n=2) == {"a b", "b c", "c d"}
    assert shingles("a b", n=5) == {"a b"}
    assert jaccard("a b c d", "a b c e", n=2) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="n must be"):
        shingles("a b", n=0)


def test_minhash_estimate_tracks_exact_jaccard():
    rng = random.Random(0)
    hasher = MinHasher(num_perm=256, seed=1)
    errors = []
    for fraction in (0.02, 0.05, 0.1, 0.2, 0.4):
        for _ in range(8):
            a = random_doc(rng)
            b = edited(rng, a, fraction)
            exact = jaccard(a, b)
            estimate = estimated_jaccard(hasher.signature(a), hasher.signature(b))
            errors.append(abs(estimate - exact))
            # within 4 standard errors sqrt(J(1-J)/k) (plus a little for hash collisions)
            assert abs(estimate - exact) <= 4 * np.sqrt(exact * (1 - exact) / 256) + 0.01
    assert np.mean(errors) < 0.03


def test_minhash_is_deterministic_and_seeded():
    doc = "the quick brown fox jumps over the lazy dog again and again"
    assert np.array_equal(MinHasher(seed=3).signature(doc), MinHasher(seed=3).signature(doc))
    assert not np.array_equal(MinHasher(seed=3).signature(doc), MinHasher(seed=4).signature(doc))
    assert estimated_jaccard(MinHasher().signature(doc), MinHasher().signature(doc)) == 1.0
    with pytest.raises(ValueError, match="num_perm"):
        MinHasher(num_perm=0)


def test_s_curve_matches_the_empirical_candidate_rate():
    """Pairs of signatures with entries agreeing independently with probability s."""
    rng = np.random.default_rng(0)
    bands, rows, pairs = 8, 4, 4000
    for s in (0.3, 0.5, 0.7, 0.9):
        first = rng.integers(0, 2**31, size=(pairs, bands * rows))
        agree = rng.random((pairs, bands * rows)) < s
        second = np.where(agree, first, first + 1)
        shared_band = (agree.reshape(pairs, bands, rows).all(axis=2)).any(axis=1)
        rate = shared_band.mean()
        expected = candidate_probability(s, bands, rows)
        assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / pairs) + 1e-3
        # lsh_candidates finds exactly the pairs that share a band
        signatures = np.concatenate([first[:50], second[:50]])
        found = {(a, b - 50) for a, b in lsh_candidates(signatures, bands, rows) if b - a == 50}
        assert found == {(i, i) for i in range(50) if shared_band[i]}


def test_choose_bands_puts_the_s_curve_step_near_the_threshold():
    for threshold in (0.5, 0.8, 0.9):
        bands, rows = choose_bands(threshold, 128)
        assert bands * rows <= 128
        step = (1 / bands) ** (1 / rows)  # where the S-curve rises most steeply
        assert abs(step - threshold) < 0.1
        assert candidate_probability(threshold, bands, rows) > 0.75  # few misses at the threshold
        assert candidate_probability(threshold - 0.3, bands, rows) < 0.1
    balanced = choose_bands(0.8, 128, false_negative_weight=0.5)
    assert candidate_probability(0.8, *balanced) < candidate_probability(
        0.8, *choose_bands(0.8, 128)
    )
    with pytest.raises(ValueError, match="threshold"):
        choose_bands(1.5, 128)
    with pytest.raises(ValueError, match="false_negative_weight"):
        choose_bands(0.8, 128, false_negative_weight=1.0)


def test_planted_near_duplicates_are_found_and_different_docs_are_not_grouped():
    rng = random.Random(5)
    originals = [random_doc(rng) for _ in range(30)]
    docs = list(originals)
    planted = {}
    for i in (3, 11, 20):
        planted[i] = len(docs)
        docs.append(edited(rng, originals[i], 0.01))  # about 0.9 Jaccard
    groups = find_near_duplicates(docs, threshold=0.8)
    assert sorted(groups) == sorted([[i, j] for i, j in planted.items()])
    assert all(jaccard(docs[g[0]], docs[g[1]]) > 0.8 for g in groups)
    # far apart documents: no group at all
    assert find_near_duplicates(originals, threshold=0.8) == []
    assert find_near_duplicates(["only one"]) == []


def test_groups_are_transitive_and_validated():
    rng = random.Random(2)
    a = random_doc(rng)
    b = edited(rng, a, 0.005)
    c = edited(rng, b, 0.005)
    other = random_doc(rng)
    assert find_near_duplicates([other, a, b, c]) == [[1, 2, 3]]
    with pytest.raises(ValueError, match="threshold"):
        find_near_duplicates([a, b], threshold=0)
    with pytest.raises(ValueError, match="bands and rows"):
        find_near_duplicates([a, b], bands=4)
    with pytest.raises(ValueError, match="num_perm"):
        find_near_duplicates([a, b], bands=20, rows=20)


def test_exact_duplicates_agree_with_pairwise_comparison():
    rng = random.Random(9)
    pool = ["one doc", "Another doc", "a third", "ONE  DOC"]
    docs = [rng.choice(pool) for _ in range(25)]
    pairs = {
        (i, j) for i, j in combinations(range(25), 2) if normalise(docs[i]) == normalise(docs[j])
    }
    grouped = {(i, j) for g in exact_duplicates(docs) for i, j in combinations(g, 2)}
    assert grouped == pairs
