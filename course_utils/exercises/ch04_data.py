"""Chapter 4's exercises: budgets and epochs, a quality filter, the LSH S-curve, temperature."""

from __future__ import annotations

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

SHOUTING_CASES = [
    ("The market opens at nine.\nIt sells bread and cheese.\nEveryone is welcome.", False),
    ("BIG SALE TODAY!\nEVERYTHING MUST GO!\nThe shop opens at nine.\nAsk inside.\nBye.", True),
    ("\n".join(["A quiet line of text."] * 9 + ["ONE LOUD LINE."]), False),
    ("NOTICE\n\nThe library is closed on Monday.\nIt opens again on Tuesday.", True),
    ("Line one.\n12345\n---\nLine two.", False),
]


def judge_shouting_filter(answer) -> str | None:
    if not callable(answer):
        return "expected a function doc -> None or reason."
    for doc, should_reject in SHOUTING_CASES:
        verdict = answer(doc)
        if verdict is not None and not isinstance(verdict, str):
            return f"return None or a reason string, not {type(verdict).__name__}."
        if should_reject and verdict is None:
            return f"it keeps a page where too many lines shout:\n{doc!r}"
        if not should_reject and verdict is not None:
            return f"it rejects a page it should keep ({verdict!r}):\n{doc!r}"
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
    return "shouting" if shouting / len(lines) > 0.2 else None


register(
    Exercise(
        id="4.2",
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
        id="4.3",
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

register(
    Exercise(
        id="4.4",
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
