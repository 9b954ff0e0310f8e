"""Heuristic quality filters for pre-training text, in the style of Gopher and C4 (chapter 4).

Each filter is a small function ``rule(doc) -> str | None``: ``None`` keeps the document,
a string is the reason to drop it. Two families:

* **Gopher** (Rae et al. 2021, appendix A.1.1 and Table A1): word counts, word lengths,
  symbols, bullet and ellipsis lines, stop words, and repeated lines, paragraphs and n-grams.
* **C4** (Raffel et al. 2020, section 2.2): whole-page rules (at least 3 sentences, no
  "lorem ipsum", no curly braces) and line rules that *edit* a page rather than drop it
  (:func:`c4_clean_lines`). Thresholds as in the released C4 code (TensorFlow Datasets
  ``c4_utils``): lines of at least 5 words ending in terminal punctuation.

These rules were written for English web prose. Code, tables or poetry fail them for good
reasons of their own, so real pipelines filter each source with its own rules
(:data:`FILTERS_BY_SOURCE`); code gets the simple checks of :data:`CODE_FILTERS`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from course_utils.checks import instance_of

Filter = Callable[[str], "str | None"]

# Gopher, appendix A.1.1.
MIN_WORDS, MAX_WORDS = 50, 100_000
MIN_MEAN_WORD_LENGTH, MAX_MEAN_WORD_LENGTH = 3, 10
MAX_SYMBOL_TO_WORD = 0.1  # for the hash symbol and for the ellipsis, each
MAX_BULLET_LINES = 0.9
MAX_ELLIPSIS_LINES = 0.3
MIN_ALPHABETIC_WORDS = 0.8
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
MIN_STOP_WORDS = 2
# Gopher, Table A1 (repetition removal).
MAX_DUPLICATE_LINE_FRACTION = 0.30
MAX_DUPLICATE_PARAGRAPH_FRACTION = 0.30
MAX_DUPLICATE_LINE_CHARS = 0.20
MAX_DUPLICATE_PARAGRAPH_CHARS = 0.20
MAX_TOP_NGRAM_CHARS = {2: 0.20, 3: 0.18, 4: 0.16}
MAX_DUPLICATE_NGRAM_CHARS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
# C4, section 2.2 and the released c4_utils.
C4_MIN_SENTENCES = 3
C4_MIN_WORDS_PER_LINE = 5
C4_TERMINAL_PUNCTUATION = (".", "!", "?", '"')
C4_POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
# Code: Chen et al. 2021 ("Codex", section 3.1) removed files with a mean line length over
# 100, a line over 1,000 characters, or "a small percentage" of alphanumeric characters; the
# 25% threshold is the one The Stack (Kocetkov et al. 2022) and StarCoder (Li et al. 2023,
# section 3) used.
MAX_MEAN_LINE_LENGTH = 100
MAX_LINE_LENGTH = 1000
MIN_ALPHANUMERIC = 0.25

BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "‣", "–", "-", "*")
ELLIPSES = ("...", "…")


def words_of(doc: str) -> list[str]:
    """The document split on whitespace: the course's (and Gopher's simplest) notion of a word."""
    return doc.split()


def lines_of(doc: str) -> list[str]:
    """The non-empty lines of a document, stripped of surrounding spaces."""
    return [line.strip() for line in doc.splitlines() if line.strip()]


def paragraphs_of(doc: str) -> list[str]:
    """Blocks of text separated by blank lines."""
    return [p.strip() for p in re.split(r"\n\s*\n", doc) if p.strip()]


# ---------------------------------------------------------------------------------------
# Gopher: document statistics
# ---------------------------------------------------------------------------------------


def word_count(doc: str) -> str | None:
    """Keep documents of 50 to 100,000 words (Gopher)."""
    n = len(words_of(doc))
    if n < MIN_WORDS:
        return f"too short: {n} words < {MIN_WORDS}"
    if n > MAX_WORDS:
        return f"too long: {n} words > {MAX_WORDS}"
    return None


def mean_word_length(doc: str) -> str | None:
    """Keep documents whose mean word length is 3 to 10 characters (Gopher)."""
    words = words_of(doc)
    if not words:
        return "no words"
    mean = sum(map(len, words)) / len(words)
    if not MIN_MEAN_WORD_LENGTH <= mean <= MAX_MEAN_WORD_LENGTH:
        return f"mean word length {mean:.1f} outside {MIN_MEAN_WORD_LENGTH}-{MAX_MEAN_WORD_LENGTH}"
    return None


def symbol_to_word_ratio(doc: str) -> str | None:
    """Drop documents with more than 0.1 hash symbols, or ellipses, per word (Gopher)."""
    words = words_of(doc)
    if not words:
        return "no words"
    for symbol, count in (
        ("#", doc.count("#")),
        ("ellipsis", doc.count("...") + doc.count("…")),
    ):
        if count / len(words) > MAX_SYMBOL_TO_WORD:
            return f"{symbol}-to-word ratio {count / len(words):.2f} > {MAX_SYMBOL_TO_WORD}"
    return None


def bullet_lines(doc: str) -> str | None:
    """Drop documents where more than 90% of lines start with a bullet point (Gopher)."""
    lines = lines_of(doc)
    if not lines:
        return "no lines"
    share = sum(line.startswith(BULLETS) for line in lines) / len(lines)
    if share > MAX_BULLET_LINES:
        return f"{share:.0%} of lines start with a bullet > {MAX_BULLET_LINES:.0%}"
    return None


def ellipsis_lines(doc: str) -> str | None:
    """Drop documents where more than 30% of lines end with an ellipsis (Gopher)."""
    lines = lines_of(doc)
    if not lines:
        return "no lines"
    share = sum(line.endswith(ELLIPSES) for line in lines) / len(lines)
    if share > MAX_ELLIPSIS_LINES:
        return f"{share:.0%} of lines end with an ellipsis > {MAX_ELLIPSIS_LINES:.0%}"
    return None


def alphabetic_words(doc: str) -> str | None:
    """Keep documents where at least 80% of words contain a letter (Gopher)."""
    words = words_of(doc)
    if not words:
        return "no words"
    share = sum(any(c.isalpha() for c in w) for w in words) / len(words)
    if share < MIN_ALPHABETIC_WORDS:
        return f"only {share:.0%} of words contain a letter < {MIN_ALPHABETIC_WORDS:.0%}"
    return None


def stop_words(doc: str) -> str | None:
    """Keep documents using at least 2 of: the, be, to, of, and, that, have, with (Gopher).

    Counted as distinct words, lower case only: "THE THE" is not English prose.
    """
    present = set(words_of(doc)) & set(STOP_WORDS)
    if len(present) < MIN_STOP_WORDS:
        return f"{len(present)} of the stop words {', '.join(STOP_WORDS)} < {MIN_STOP_WORDS}"
    return None


# ---------------------------------------------------------------------------------------
# Gopher: repetition (Table A1)
# ---------------------------------------------------------------------------------------


def _duplicate_share(items: list[str]) -> tuple[float, float]:
    """Fraction of items, and of their characters, that repeat an earlier item."""
    seen: set[str] = set()
    duplicates = duplicate_chars = 0
    for item in items:
        if item in seen:
            duplicates += 1
            duplicate_chars += len(item)
        seen.add(item)
    total_chars = sum(map(len, items)) or 1
    return duplicates / max(len(items), 1), duplicate_chars / total_chars


def repeated_lines(doc: str) -> str | None:
    """Drop documents with > 30% duplicate lines or > 20% of characters in them (Gopher)."""
    share, chars = _duplicate_share(lines_of(doc))
    if share > MAX_DUPLICATE_LINE_FRACTION:
        return f"{share:.0%} of lines are duplicates > {MAX_DUPLICATE_LINE_FRACTION:.0%}"
    if chars > MAX_DUPLICATE_LINE_CHARS:
        return f"{chars:.0%} of characters in duplicate lines > {MAX_DUPLICATE_LINE_CHARS:.0%}"
    return None


def repeated_paragraphs(doc: str) -> str | None:
    """Drop documents with > 30% duplicate paragraphs or > 20% of characters in them (Gopher)."""
    share, chars = _duplicate_share(paragraphs_of(doc))
    if share > MAX_DUPLICATE_PARAGRAPH_FRACTION:
        return f"{share:.0%} of paragraphs are duplicates > {MAX_DUPLICATE_PARAGRAPH_FRACTION:.0%}"
    if chars > MAX_DUPLICATE_PARAGRAPH_CHARS:
        return (
            f"{chars:.0%} of characters in duplicate paragraphs "
            f"> {MAX_DUPLICATE_PARAGRAPH_CHARS:.0%}"
        )
    return None


def top_ngram_share(words: Sequence[str], n: int) -> float:
    """Fraction of word characters inside the most frequent word n-gram (Gopher, Table A1)."""
    total = sum(map(len, words))
    if len(words) < n or total == 0:
        return 0.0
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    return sum(map(len, gram)) * count / total


def duplicate_ngram_share(words: Sequence[str], n: int) -> float:
    """Fraction of word characters covered by n-grams that occurred earlier (Gopher, Table A1).

    Overlapping repeats count each word once.
    """
    total = sum(map(len, words))
    if len(words) < n or total == 0:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    covered = [False] * len(words)
    for i in range(len(words) - n + 1):
        gram = tuple(words[i : i + n])
        if gram in seen:
            covered[i : i + n] = [True] * n
        seen.add(gram)
    return sum(len(w) for w, c in zip(words, covered, strict=True) if c) / total


def repeated_ngrams(doc: str) -> str | None:
    """Drop documents dominated by one n-gram (n=2-4) or by repeated n-grams (n=5-10) (Gopher)."""
    words = [w.lower() for w in words_of(doc)]
    for n, limit in MAX_TOP_NGRAM_CHARS.items():
        share = top_ngram_share(words, n)
        if share > limit:
            return f"most common {n}-gram covers {share:.0%} of characters > {limit:.0%}"
    for n, limit in MAX_DUPLICATE_NGRAM_CHARS.items():
        share = duplicate_ngram_share(words, n)
        if share > limit:
            return f"repeated {n}-grams cover {share:.0%} of characters > {limit:.0%}"
    return None


# ---------------------------------------------------------------------------------------
# C4
# ---------------------------------------------------------------------------------------

SENTENCE_END = re.compile(r"[.!?][\"”')\]]*(?=\s|$)")


def count_sentences(doc: str) -> int:
    """Sentences as runs of text ending in . ! or ? (C4 used a trained sentence splitter)."""
    return len(SENTENCE_END.findall(doc))


def too_few_sentences(doc: str) -> str | None:
    """Drop pages with fewer than 3 sentences (C4)."""
    n = count_sentences(doc)
    if n < C4_MIN_SENTENCES:
        return f"only {n} sentences < {C4_MIN_SENTENCES}"
    return None


def lorem_ipsum(doc: str) -> str | None:
    """Drop placeholder pages containing "lorem ipsum" (C4)."""
    return "contains 'lorem ipsum'" if "lorem ipsum" in doc.lower() else None


def curly_braces(doc: str) -> str | None:
    """Drop pages with a curly brace, a sign of code or templates (C4)."""
    return "contains a curly brace" if "{" in doc or "}" in doc else None


def c4_line_problem(line: str) -> str | None:
    """Why C4 would remove this line from a page, or ``None`` to keep it."""
    lowered = line.lower()
    if "javascript" in lowered:
        return "mentions javascript"
    for phrase in C4_POLICY_PHRASES:
        if phrase in lowered:
            return f"policy boilerplate ({phrase!r})"
    if not line.rstrip().endswith(C4_TERMINAL_PUNCTUATION):
        return "no terminal punctuation"
    if line.rstrip().endswith(ELLIPSES):
        return "ends with an ellipsis"
    if len(line.split()) < C4_MIN_WORDS_PER_LINE:
        return f"fewer than {C4_MIN_WORDS_PER_LINE} words"
    return None


def c4_clean_lines(doc: str) -> tuple[str, list[tuple[str, str]]]:
    """Remove the lines C4 removes; return the cleaned page and ``(line, reason)`` pairs.

    Paragraph breaks of the kept lines are preserved.
    """
    kept_paragraphs, removed = [], []
    for paragraph in paragraphs_of(doc):
        kept = []
        for line in lines_of(paragraph):
            problem = c4_line_problem(line)
            if problem is None:
                kept.append(line)
            else:
                removed.append((line, problem))
        if kept:
            kept_paragraphs.append("\n".join(kept))
    return "\n\n".join(kept_paragraphs), removed


# ---------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------


def long_lines(doc: str) -> str | None:
    """Drop files with a line over 1000 characters or lines over 100 on average (code)."""
    lines = doc.splitlines() or [""]
    longest = max(map(len, lines))
    if longest > MAX_LINE_LENGTH:
        return f"a line of {longest} characters > {MAX_LINE_LENGTH}"
    mean = sum(map(len, lines)) / len(lines)
    if mean > MAX_MEAN_LINE_LENGTH:
        return f"mean line length {mean:.0f} > {MAX_MEAN_LINE_LENGTH}"
    return None


def mostly_symbols(doc: str) -> str | None:
    """Drop files where fewer than 25% of characters are letters or digits (code)."""
    if not doc:
        return "empty"
    share = sum(c.isalnum() for c in doc) / len(doc)
    if share < MIN_ALPHANUMERIC:
        return f"only {share:.0%} alphanumeric characters < {MIN_ALPHANUMERIC:.0%}"
    return None


GOPHER_FILTERS: tuple[Filter, ...] = (
    word_count,
    mean_word_length,
    symbol_to_word_ratio,
    bullet_lines,
    ellipsis_lines,
    alphabetic_words,
    stop_words,
    repeated_lines,
    repeated_paragraphs,
    repeated_ngrams,
)
C4_FILTERS: tuple[Filter, ...] = (too_few_sentences, lorem_ipsum, curly_braces)
PROSE_FILTERS: tuple[Filter, ...] = GOPHER_FILTERS + C4_FILTERS
CODE_FILTERS: tuple[Filter, ...] = (long_lines, mostly_symbols)
#: Which rules each source of the course corpus gets: C4's rules are for crawled pages, and
#: code would fail prose rules (curly braces, lines without full stops) for being code.
FILTERS_BY_SOURCE: dict[str, tuple[Filter, ...]] = {
    "web_crawl": PROSE_FILTERS,
    "code": CODE_FILTERS,
    "books": GOPHER_FILTERS,
    "conversations": GOPHER_FILTERS,
    "scientific": GOPHER_FILTERS,
    "wikipedia": GOPHER_FILTERS,
}


def quality_filter(doc: str, filters: Sequence[Filter] = PROSE_FILTERS) -> tuple[bool, list[str]]:
    """Run every rule on ``doc``: ``(keep, reasons)``, keep when no rule objects (chapter 4).

    All rules run, so ``reasons`` lists every problem, not only the first.
    """
    instance_of("doc", doc, str)
    reasons = [f"{rule.__name__}: {reason}" for rule in filters if (reason := rule(doc))]
    return not reasons, reasons
