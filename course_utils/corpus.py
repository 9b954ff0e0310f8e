"""The course's small multi-source corpus, shipped with the package (chapter 4).

About 1.3 MB of text in six sources named like the keys of ``TRAINING_DATA_MIX``. Each is a
small stand-in for the real thing:

* ``web_crawl``: generated news, recipe and review pages wrapped in the boilerplate a crawler
  picks up (menus, cookie notices, share buttons);
* ``code``: twenty Python source files of the standard library;
* ``books``: generated short children's stories, in the spirit of TinyStories (Eldan & Li 2023);
* ``conversations``: generated forum threads, a question and its replies;
* ``scientific``: the docstrings of the standard library's statistics, random, fractions,
  decimal, heapq and difflib modules;
* ``wikipedia``: the Python language reference as shipped in the standard library
  (``pydoc_data``), split into articles.

The standard-library text is a snapshot (Python 3.11; PSF licence), so the corpus is the same
on every install. Planted copies and junk pages carry a ``planted`` label ("exact_duplicate",
"near_duplicate", "low_quality") and ``copy_of``, the id of the copied document, so the
pipeline's catch can be checked. Rebuild with ``tools/build_corpus.py``.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SOURCES = ("web_crawl", "code", "books", "conversations", "scientific", "wikipedia")


@dataclass(frozen=True)
class Document:
    """One document of the corpus."""

    id: int
    source: str
    title: str
    text: str
    planted: str | None = None  # "exact_duplicate", "near_duplicate", "low_quality" or None
    copy_of: int | None = None  # for planted copies: the id of the original

    @property
    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


@lru_cache(maxsize=1)
def load_corpus() -> tuple[Document, ...]:
    """Every document of the corpus, in its (shuffled) stored order (chapter 4)."""
    path = resources.files("course_utils").joinpath("data/corpus.jsonl.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return tuple(Document(**json.loads(line)) for line in lines)


def by_source(documents) -> dict[str, list[Document]]:
    """Documents grouped by source, in the order of :data:`SOURCES`."""
    groups: dict[str, list[Document]] = {source: [] for source in SOURCES}
    for document in documents:
        groups.setdefault(document.source, []).append(document)
    return groups


def source_sizes(documents) -> dict[str, int]:
    """UTF-8 bytes of text per source (chapter 4)."""
    return {s: sum(d.n_bytes for d in docs) for s, docs in by_source(documents).items()}
