"""Chapter 4's exercises, in the chapter's order: epochs, temperature, a quality filter, LSH."""

from __future__ import annotations

from typing import Any

from course_utils.dedup import candidate_probability
from course_utils.exercises.framework import Exercise, close_to, register

register(
    Exercise(
        id="4.1",
        prompt=(
            "A 13B model is trained on 20 tokens per parameter with TRAINING_DATA_MIX. The "
            "Wikipedia dump holds 5 billion tokens. How many epochs over Wikipedia is that?"
        ),
        hint="tokens for Wikipedia = total tokens x its weight (0.04); divide by 5e9.",
        judge=close_to(13e9 * 20 * 0.04 / 5e9, rel_tol=1e-3, unit="epochs"),
        example_solution=lambda: 13e9 * 20 * 0.04 / 5e9,
        example_mistake=lambda: 13e9 * 20 / 5e9,
        explanation="260B tokens x 4% = 10.4B tokens, about 2.1 passes over 5B.",
    )
)

register(
    Exercise(
        id="4.2",
        prompt=(
            "Two sources hold 900 and 100 million tokens. At which sampling temperature T does "
            "the small one get 25% of the mix (p proportional to size ** (1/T))?"
        ),
        hint="0.25 / 0.75 = (100 / 900) ** (1/T); take logarithms.",
        judge=close_to(2.0, rel_tol=1e-3),
        example_solution=lambda: 2.0,
        example_mistake=lambda: 0.5,
        explanation="(1/9) ** (1/T) = 1/3 gives 1/T = 1/2.",
    )
)

_BLANK_LINES_IN_DENOMINATOR = (
    "the rule counts non-empty lines only: leave blank lines out of the denominator."
)
_MORE_THAN = "the rule is *more than* 20%: a page with exactly 20% shouting lines stays."
_EMPTY_PAGE = (
    "a page with no non-empty lines (chapter 4's line cleaning leaves some) has nothing that "
    "shouts: keep it, without dividing by zero."
)

#: (page, whether the filter must reject it, what to say when it gets the page wrong).
SHOUTING_CASES = [
    ("The market opens at nine.\nIt sells bread and cheese.\nEveryone is welcome.", False, ""),
    (
        "BIG SALE TODAY!\nEVERYTHING MUST GO!\nThe shop opens at nine.\nAsk inside.\nBye.",
        True,
        "",
    ),
    ("\n".join(["A quiet line of text."] * 9 + ["ONE LOUD LINE."]), False, ""),
    ("NOTICE\n\nThe library is closed on Monday.\nIt opens again on Tuesday.", True, ""),
    (
        "Line one.\n12345\n---\nLine two.",
        False,
        "a line shouts only when it is entirely in capitals (str.isupper()), not when it "
        "merely has some.",
    ),
    # 2 of 9 non-empty lines shout (22%), but only 2 of 12 lines counting the blank ones (17%).
    (
        "WELCOME\n\nOpening hours are nine to five.\nWe sell fresh bread.\n\n"
        "CLOSED ON SUNDAYS\nAsk about our cakes.\nParking is behind the shop.\n\n"
        "Cards are accepted.\nSee you soon.\nThanks.",
        True,
        _BLANK_LINES_IN_DENOMINATOR,
    ),
    # Exactly 1 of 5 lines: 20%, not more.
    (
        "SPECIAL OFFER\nTwo loaves for the price of one.\nOnly this week.\n"
        "Ask at the counter.\nThank you.",
        False,
        _MORE_THAN,
    ),
    ("", False, _EMPTY_PAGE),
    ("\n  \n\n", False, _EMPTY_PAGE),
]


def judge_shouting_filter(answer: Any) -> str | None:
    """Run a learner's filter on pages that catch the usual slips (exercise 4.3)."""
    if not callable(answer):
        return "expected a function doc -> None or reason."
    for doc, should_reject, pointer in SHOUTING_CASES:
        try:
            verdict = answer(doc)
        except ZeroDivisionError:
            if doc.strip():
                raise
            return f"it raises ZeroDivisionError on the page {doc!r}: {_EMPTY_PAGE}"
        if verdict is not None and not isinstance(verdict, str):
            return f"return None or a reason string, not {type(verdict).__name__}."
        why = f" Look again: {pointer}" if pointer else ""
        if should_reject and verdict is None:
            return f"it keeps a page where too many lines shout:\n{doc!r}.{why}"
        if not should_reject and verdict is not None:
            return f"it rejects a page it should keep ({verdict!r}):\n{doc!r}.{why}"
    return None


def _example_shouting_filter(doc: str) -> str | None:
    lines = [line for line in doc.splitlines() if line.strip()]
    shouting = sum(line.isupper() for line in lines)
    if lines and shouting / len(lines) > 0.2:
        return f"{shouting / len(lines):.0%} of lines are in capitals"
    return None


def _mistaken_shouting_filter(doc: str) -> str | None:
    # counts every line, blank ones included, and capital letters anywhere in a line
    lines = doc.splitlines()
    shouting = sum(any(c.isupper() for c in line) for line in lines)
    return "shouting" if lines and shouting / len(lines) > 0.2 else None


register(
    Exercise(
        id="4.3",
        prompt=(
            "Write a filter shouting_lines(doc) that returns a reason when more than 20% of "
            "the non-empty lines are written entirely in capitals, and None otherwise."
        ),
        hint="str.isupper() is True for 'BIG SALE!' and False for '12345'; skip blank lines.",
        judge=judge_shouting_filter,
        example_solution=lambda: _example_shouting_filter,
        example_mistake=lambda: _mistaken_shouting_filter,
        explanation="a line-level rule like Gopher's bullet and ellipsis rules.",
    )
)

register(
    Exercise(
        id="4.4",
        prompt=(
            "LSH with 20 bands of 5 rows: what is the probability that two documents with "
            "Jaccard similarity 0.6 become a candidate pair?"
        ),
        hint="one band matches with probability s**r; the pair is missed only if all b bands miss.",
        judge=close_to(candidate_probability(0.6, 20, 5), rel_tol=1e-3),
        example_solution=lambda: 1 - (1 - 0.6**5) ** 20,
        example_mistake=lambda: 0.6**5,
        explanation=(
            "1 - (1 - 0.6**5)**20 ≈ 0.80: with r = 5, b = 20 the S-curve's step is near 0.55."
        ),
    )
)
