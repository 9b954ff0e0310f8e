from collections import Counter

import pytest

from course_utils.corpus import SOURCES, load_corpus, source_sizes
from course_utils.data_mix import TRAINING_DATA_MIX
from course_utils.pipeline import clean_corpus, run_pipeline, training_text


@pytest.fixture(scope="module")
def stages():
    return run_pipeline()


def test_corpus_has_every_source_and_enough_text():
    docs = load_corpus()
    assert tuple(TRAINING_DATA_MIX) == SOURCES
    sizes = source_sizes(docs)
    assert set(sizes) == set(SOURCES)
    assert all(size > 50_000 for size in sizes.values()), sizes
    assert sum(sizes.values()) > 1_200_000
    assert [d.id for d in docs] == list(range(len(docs)))


def test_planted_documents_are_labelled():
    docs = load_corpus()
    planted = Counter(d.planted for d in docs if d.planted)
    assert planted["exact_duplicate"] >= 5
    assert planted["near_duplicate"] >= 5
    assert planted["low_quality"] >= 10
    for d in docs:
        if d.planted in {"exact_duplicate", "near_duplicate"}:
            assert d.copy_of < d.id and docs[d.copy_of].source == d.source


def test_every_stage_removes_something_and_finds_every_planted_document(stages):
    assert [s.name.split(" (")[0] for s in stages] == [
        "line cleaning",
        "quality filters",
        "exact deduplication",
        "near deduplication",
    ]
    assert stages[0].lines_removed
    for stage in stages[1:]:
        assert stage.removed, stage.name
    removed = {d.id: stage.name for stage in stages for d, _ in stage.removed}
    for d in load_corpus():
        if d.planted:
            assert d.id in removed, (d.id, d.title, d.planted)
        if d.planted == "near_duplicate":
            assert removed[d.id].startswith("near"), d.title
        if d.planted == "exact_duplicate":
            assert removed[d.id].startswith(("exact", "near")), d.title


def test_line_cleaning_removes_boilerplate_but_keeps_articles(stages):
    reasons = Counter(reason.split(" (")[0] for _, _, reason in stages[0].lines_removed)
    assert reasons["mentions javascript"] and reasons["policy boilerplate"]
    cleaned = [d for d in stages[0].kept if d.source == "web_crawl" and not d.planted]
    assert all("cookie" not in d.text.lower() for d in cleaned)


def test_training_text_is_the_cleaned_corpus(stages):
    text = training_text()
    assert len(text.encode()) > 1_000_000
    assert text.count("\n\n") >= len(clean_corpus()) - 1
    assert [d.id for d in clean_corpus()] == [d.id for d in stages[-1].kept]
    prose = training_text(["books"])
    assert "Once upon a time" in prose and "def " not in prose
    with pytest.raises(ValueError, match="sources"):
        training_text(["novels"])
