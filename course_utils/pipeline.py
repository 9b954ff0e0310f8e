"""The preprocessing pipeline, stage by stage, on the course corpus (chapter 4).

1. **line cleaning**: C4's line rules remove boilerplate lines from crawled pages;
2. **quality filters**: each source's rules (:data:`~course_utils.quality.FILTERS_BY_SOURCE`);
3. **exact deduplication**: normalised-text hashes;
4. **near deduplication**: MinHash + LSH at Jaccard similarity 0.8.

Each stage reports what it removed and why. :func:`training_text` is the cleaned corpus as
one string: the text chapter 5 trains on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from course_utils.corpus import SOURCES, Document, load_corpus
from course_utils.dedup import exact_duplicates, find_near_duplicates
from course_utils.quality import FILTERS_BY_SOURCE, GOPHER_FILTERS, c4_clean_lines, quality_filter

NEAR_DUPLICATE_THRESHOLD = 0.8
DOCUMENT_SEPARATOR = "\n\n"


@dataclass
class Stage:
    """What one pipeline stage kept and removed (``removed``: document and reason)."""

    name: str
    kept: list[Document]
    removed: list[tuple[Document, str]] = field(default_factory=list)
    lines_removed: list[tuple[int, str, str]] = field(default_factory=list)  # id, line, reason

    @property
    def bytes_kept(self) -> int:
        return sum(d.n_bytes for d in self.kept)


def clean_lines(documents: Sequence[Document]) -> Stage:
    """C4's line rules on crawled pages; other sources pass unchanged."""
    kept, removed, lines = [], [], []
    for document in documents:
        if document.source != "web_crawl":
            kept.append(document)
            continue
        text, dropped = c4_clean_lines(document.text)
        lines += [(document.id, line, reason) for line, reason in dropped]
        if text:
            kept.append(dataclasses.replace(document, text=text))
        else:
            removed.append((document, "no line survived"))
    return Stage("line cleaning (C4 rules, web pages)", kept, removed, lines)


def filter_quality(documents: Sequence[Document]) -> Stage:
    """Each document through its source's quality rules."""
    kept, removed = [], []
    for document in documents:
        rules = FILTERS_BY_SOURCE.get(document.source, GOPHER_FILTERS)
        keep, reasons = quality_filter(document.text, rules)
        if keep:
            kept.append(document)
        else:
            removed.append((document, "; ".join(reasons)))
    return Stage("quality filters", kept, removed)


def remove_duplicates(
    documents: Sequence[Document], groups: Iterable[list[int]], name: str
) -> Stage:
    """Keep the first document of each group of duplicates."""
    drop = {}
    for group in groups:
        for index in group[1:]:
            drop[index] = documents[group[0]]
    kept = [d for i, d in enumerate(documents) if i not in drop]
    removed = [
        (documents[i], f"duplicate of #{first.id} ({first.title})")
        for i, first in sorted(drop.items())
    ]
    return Stage(name, kept, removed)


def run_pipeline(
    documents: Sequence[Document] | None = None, threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[Stage]:
    """All four stages in order; each stage's ``kept`` is the next one's input (chapter 4)."""
    stages = [clean_lines(load_corpus() if documents is None else documents)]
    stages.append(filter_quality(stages[-1].kept))
    texts = [d.text for d in stages[-1].kept]
    stages.append(
        remove_duplicates(stages[-1].kept, exact_duplicates(texts), "exact deduplication")
    )
    texts = [d.text for d in stages[-1].kept]
    near = find_near_duplicates(texts, threshold)
    stages.append(remove_duplicates(stages[-1].kept, near, "near deduplication (MinHash + LSH)"))
    return stages


@lru_cache(maxsize=1)
def clean_corpus() -> tuple[Document, ...]:
    """The documents that survive the whole pipeline (chapter 4)."""
    return tuple(run_pipeline()[-1].kept)


def training_text(sources: Iterable[str] = SOURCES) -> str:
    """The cleaned corpus as one string, documents separated by a blank line (chapters 4, 5)."""
    wanted = set(sources)
    unknown = sorted(wanted - set(SOURCES))
    if unknown:
        raise ValueError(f"sources must be among {SOURCES}, got {unknown}")
    return DOCUMENT_SEPARATOR.join(d.text for d in clean_corpus() if d.source in wanted)
