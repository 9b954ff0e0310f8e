"""Finding duplicate documents: exact hashes, MinHash and locality-sensitive hashing (chapter 4).

* **Exact duplicates** share a hash of their normalised text (case and spacing ignored).
* **Near duplicates** share most of their word n-grams ("shingles"). Comparing every pair is
  quadratic, so MinHash (Broder 1997) compresses each document's shingle set to a short
  signature whose agreement estimates the Jaccard similarity, and LSH banding (Leskovec,
  Rajaraman & Ullman, *Mining of Massive Datasets*, section 3.4) only compares documents
  that agree on a whole band of the signature. GPT-3 (Brown et al. 2020, appendix A) and
  many later pipelines deduplicate this way.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from course_utils.checks import number_in_range, positive_int

MERSENNE_PRIME = (1 << 31) - 1  # hashes below 2**31 keep a*x + b inside 64 bits


def normalise(text: str) -> str:
    """Lower case with all runs of whitespace made one space: what counts as "the same text"."""
    return re.sub(r"\s+", " ", text.casefold()).strip()


def _check_documents(docs: Sequence[str]) -> None:
    if isinstance(docs, str) or not all(isinstance(d, str) for d in docs):
        raise ValueError("docs must be a sequence of str documents")


def _groups_from_pairs(pairs: list[tuple[int, int]], n: int) -> list[list[int]]:
    """Connected components (union-find) of size >= 2, each sorted, ordered by first index."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[root(i)].append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def exact_duplicates(docs: Sequence[str]) -> list[list[int]]:
    """Groups of indices of documents whose normalised text is identical (chapter 4).

    Each group is sorted; keep its first document and drop the rest.
    """
    _check_documents(docs)
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        by_hash[hashlib.sha256(normalise(doc).encode()).hexdigest()].append(i)
    return sorted((g for g in by_hash.values() if len(g) > 1), key=lambda g: g[0])


def shingles(text: str, n: int = 5) -> set[str]:
    """The set of word n-grams of the normalised text; a shorter text is one shingle."""
    words = normalise(text).split()
    if len(words) <= positive_int("n", n):
        return {" ".join(words)}
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str, n: int = 5) -> float:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two documents' shingle sets."""
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb)


class MinHasher:
    """MinHash signatures with ``num_perm`` seeded hash functions h(x) = (a·x + b) mod p.

    The probability that two sets get the same minimum under one random hash function is
    exactly their Jaccard similarity, so the fraction of equal signature entries estimates it
    with standard error sqrt(J(1 - J) / num_perm).
    """

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 0):
        self.num_perm = positive_int("num_perm", num_perm)
        self.ngram = ngram
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, MERSENNE_PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, MERSENNE_PRIME, size=num_perm, dtype=np.uint64)

    def signature(self, text: str) -> np.ndarray:
        """The ``num_perm`` minimum hash values of the text's shingles."""
        hashed = np.fromiter(
            (zlib.crc32(s.encode()) % MERSENNE_PRIME for s in shingles(text, self.ngram)),
            dtype=np.uint64,
        )
        values = (self.a[:, None] * hashed[None, :] + self.b[:, None]) % MERSENNE_PRIME
        return values.min(axis=1)

    def signatures(self, docs: Sequence[str]) -> np.ndarray:
        """A ``(len(docs), num_perm)`` array of signatures."""
        _check_documents(docs)
        return np.stack([self.signature(d) for d in docs]) if docs else np.empty((0, 0))


def estimated_jaccard(signature_a: np.ndarray, signature_b: np.ndarray) -> float:
    """The fraction of MinHash signature entries two documents share."""
    return float(np.mean(signature_a == signature_b))


def candidate_probability(similarity, bands: int, rows: int):
    """The LSH S-curve: P(two documents share at least one band) = 1 - (1 - s**r)**b."""
    s = np.asarray(similarity, dtype=float)
    result = 1.0 - (1.0 - s**rows) ** bands
    return float(result) if result.ndim == 0 else result


def choose_bands(
    threshold: float, num_perm: int, false_negative_weight: float = 0.9
) -> tuple[int, int]:
    """The ``(bands, rows)`` with bands x rows <= num_perm whose S-curve best fits ``threshold``.

    Minimises the weighted area of false positives (curve above 0 left of the threshold) and
    false negatives (curve below 1 right of it), as the datasketch library does. Missed
    duplicates weigh more by default: a false candidate only costs one signature comparison.
    """
    number_in_range("threshold", threshold, 0, 1, include_low=False, include_high=False)
    number_in_range(
        "false_negative_weight", false_negative_weight, 0, 1, include_low=False, include_high=False
    )
    s = np.linspace(0, 1, 1001)
    below, above = s < threshold, s >= threshold
    best, best_error = (1, num_perm), math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            curve = candidate_probability(s, bands, rows)
            error = (1 - false_negative_weight) * np.mean(curve * below)
            error += false_negative_weight * np.mean((1 - curve) * above)
            if error < best_error - 1e-12:
                best, best_error = (bands, rows), error
    return best


def lsh_candidates(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs of documents whose signatures agree on every row of at least one band."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(
            f"bands x rows must be at most num_perm={signatures.shape[1]}, got {bands} x {rows}"
        )
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        for i, row in enumerate(block):
            buckets[row.tobytes()].append(i)
        for members in buckets.values():
            pairs.update((a, b) for k, a in enumerate(members) for b in members[k + 1 :])
    return pairs


def find_near_duplicates(
    docs: Sequence[str],
    threshold: float = 0.8,
    *,
    num_perm: int = 128,
    ngram: int = 5,
    bands: int | None = None,
    rows: int | None = None,
    seed: int = 0,
) -> list[list[int]]:
    """Groups of indices of documents with Jaccard similarity >= ``threshold`` (chapter 4).

    MinHash signatures, LSH banding to find candidate pairs, then each candidate's estimated
    similarity is checked against the threshold. Groups are linked transitively, sorted, and
    ordered by their first index; keep each group's first document.
    """
    _check_documents(docs)
    number_in_range("threshold", threshold, 0, 1, include_low=False, include_high=False)
    if (bands is None) != (rows is None):
        raise ValueError("give both bands and rows, or neither")
    if bands is None:
        bands, rows = choose_bands(threshold, num_perm)
    signatures = MinHasher(num_perm, ngram, seed).signatures(docs)
    if len(docs) < 2:
        return []
    pairs = [
        (a, b)
        for a, b in sorted(lsh_candidates(signatures, bands, rows))
        if estimated_jaccard(signatures[a], signatures[b]) >= threshold
    ]
    return _groups_from_pairs(pairs, len(docs))
