import pytest

from course_utils import quality
from course_utils.quality import (
    CODE_FILTERS,
    FILTERS_BY_SOURCE,
    GOPHER_FILTERS,
    PROSE_FILTERS,
    c4_clean_lines,
    c4_line_problem,
    count_sentences,
    duplicate_ngram_share,
    quality_filter,
    top_ngram_share,
)

GOOD = (
    "The river that runs through the old town has been cleaned over the last ten years. "
    "Volunteers removed rubbish from its banks, and the council planted trees to shade the "
    "water. Fish have returned, and with them the herons that feed on them. Children from "
    "the local school measure the water quality every month and share their results with "
    "the town. They have found that the water is now cleaner than at any time since the "
    "records began, and they hope to keep it that way for many years to come."
)
CODE = '''def mean(values):
    """Return the arithmetic mean of a list of numbers."""
    if not values:
        raise ValueError("mean() needs at least one value")
    return sum(values) / len(values)
'''

# Each filter: a document it rejects, and the reason it should give. GOOD passes them all.
REJECTED = {
    quality.word_count: ("Too short to be useful.", "too short"),
    quality.mean_word_length: (" ".join(["a an to be it is"] * 20), "mean word length"),
    quality.symbol_to_word_ratio: (GOOD + " #tag" * 20, "#-to-word ratio"),
    quality.bullet_lines: (
        "\n".join(f"• item number {i} of the list" for i in range(20)),
        "bullet",
    ),
    quality.ellipsis_lines: (
        "\n".join(f"Read the full story of the town and the river {i}..." for i in range(10)),
        "ellipsis",
    ),
    quality.alphabetic_words: (GOOD + " " + " ".join(["12.5 99 3/4 -"] * 30), "contain a letter"),
    quality.stop_words: (" ".join(["cheap flights hotel deals online"] * 20), "stop words"),
    quality.repeated_lines: (
        "\n".join(["Big sale on everything in the shop today and tomorrow."] * 8 + [GOOD]),
        "duplicate",
    ),
    quality.repeated_paragraphs: ("\n\n".join([GOOD[:120]] * 3 + [GOOD]), "paragraphs"),
    quality.repeated_ngrams: (GOOD + " buy now buy now" * 60, "gram"),
    quality.too_few_sentences: ("One sentence only with many words " * 12 + ".", "sentences"),
    quality.lorem_ipsum: (GOOD + " Lorem ipsum dolor sit amet.", "lorem ipsum"),
    quality.curly_braces: (GOOD + " {{ product.name }}", "curly brace"),
    quality.long_lines: ("x = [" + "1, " * 400 + "]\n", "a line of"),
    quality.mostly_symbols: ("{[(<>)]};;;;====----++++****" * 10, "alphanumeric"),
}


def test_every_filter_has_a_test_case():
    assert set(REJECTED) == set(PROSE_FILTERS) | set(CODE_FILTERS)


@pytest.mark.parametrize("rule", list(REJECTED), ids=lambda rule: rule.__name__)
def test_each_filter_keeps_good_text_and_rejects_its_case(rule):
    assert rule(CODE if rule in CODE_FILTERS else GOOD) is None
    bad, reason = REJECTED[rule]
    problem = rule(bad)
    assert problem is not None and reason in problem, problem


def test_code_passes_code_filters_but_fails_prose_filters():
    assert quality_filter(CODE, CODE_FILTERS) == (True, [])
    keep, reasons = quality_filter(CODE, PROSE_FILTERS)
    assert not keep
    assert any(r.startswith("word_count") for r in reasons)
    assert FILTERS_BY_SOURCE["code"] == CODE_FILTERS
    assert FILTERS_BY_SOURCE["books"] == GOPHER_FILTERS


def test_quality_filter_reports_every_reason():
    assert quality_filter(GOOD) == (True, [])
    keep, reasons = quality_filter("lorem ipsum {x}")
    assert not keep
    names = {r.split(":")[0] for r in reasons}
    assert {"word_count", "lorem_ipsum", "curly_braces", "too_few_sentences"} <= names
    with pytest.raises(ValueError, match="doc must be a str"):
        quality_filter(None)


def test_stop_words_are_counted_as_distinct_lower_case_words():
    assert quality.stop_words("the the the the") is not None
    assert quality.stop_words("THE AND") is not None
    assert quality.stop_words("the cat and dog") is None


def test_ngram_shares_by_hand():
    words = ["a", "b", "a", "b", "a", "b"]  # 6 characters; "a b" occurs 3 times
    assert top_ngram_share(words, 2) == pytest.approx(6 / 6)
    assert top_ngram_share(["a", "b", "c", "d"], 2) == 0.0
    words = ["one", "two", "three", "four", "five", "one", "two", "three", "four", "five", "six"]
    # the second "one two three four five" repeats the first: 19 of 41 characters
    assert duplicate_ngram_share(words, 5) == pytest.approx(19 / 41)
    assert duplicate_ngram_share(words[:6], 5) == 0.0


def test_c4_line_rules():
    assert (
        c4_line_problem("Please enable JavaScript to view the comments.") == "mentions javascript"
    )
    assert "policy" in c4_line_problem("This site uses cookies. Read our privacy policy.")
    assert c4_line_problem("Home | News | About") == "no terminal punctuation"
    assert c4_line_problem("Read more...") == "ends with an ellipsis"
    assert c4_line_problem("Thanks a lot!") == "fewer than 5 words"
    assert c4_line_problem("The market runs every Saturday until October.") is None
    page = (
        "Menu\nThe market runs every Saturday until October.\n\n"
        "Share this\nIt sells bread too, every week."
    )
    text, removed = c4_clean_lines(page)
    assert (
        text == "The market runs every Saturday until October.\n\nIt sells bread too, every week."
    )
    assert [line for line, _ in removed] == ["Menu", "Share this"]


def test_sentence_count():
    assert count_sentences('One. Two! "Three?" Four') == 3
    assert count_sentences("3.14 is not a sentence end") == 0
