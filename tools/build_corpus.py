"""Build the chapter 4 corpus, ``course_utils/data/corpus.jsonl.gz`` (run once, then commit).

    python tools/build_corpus.py

Six sources, named like the keys of ``TRAINING_DATA_MIX``:

* ``web_crawl``: generated web pages wrapped in the boilerplate a crawler picks up
  (menus, cookie notices, share buttons), plus planted low-quality pages;
* ``code``: Python source files of the standard library;
* ``books``: generated short children's stories (in the spirit of TinyStories);
* ``conversations``: generated forum threads, a question and its replies;
* ``scientific``: the docstrings of the standard library's numerical and algorithmic
  modules (statistics, random, fractions, decimal, heapq, difflib);
* ``wikipedia``: the Python language reference as shipped with the standard library
  (``pydoc_data.topics``), split into articles.

Text taken from the standard library is a snapshot of the interpreter that ran this script,
so the shipped corpus is the same on every install whatever its Python version. Planted
exact duplicates, near duplicates and low-quality pages are marked in each record's
``planted`` field with the id of the document they copy, so tests can check the pipeline.
"""

from __future__ import annotations

import ast
import gzip
import json
import random
import re
import sys
import sysconfig
from pathlib import Path

import corpus_text as T

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_utils.quality import c4_clean_lines  # noqa: E402

OUTPUT = ROOT / "course_utils" / "data" / "corpus.jsonl.gz"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SEED = 4

CODE_MODULES = [
    "textwrap", "shlex", "fnmatch", "bisect", "graphlib", "string", "glob", "sched", "queue",
    "calendar", "json/encoder", "json/decoder", "csv", "functools", "contextlib", "numbers",
    "abc", "copy", "pprint", "reprlib",
]  # fmt: skip
SCIENTIFIC_MODULES = ["statistics", "random", "fractions", "heapq", "difflib", "_pydecimal"]


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def shingles(text: str, n: int = 5) -> set[str]:
    words = text.lower().split()
    return {" ".join(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def comparable(text: str) -> set[str]:
    """Shingles of a document as C4 leaves it, without boilerplate lines."""
    return shingles(c4_clean_lines(text)[0] or text)


def pronouns(gender: str) -> dict[str, str]:
    if gender == "he":
        return {"he": "he", "He": "He", "his": "his", "His": "His", "him": "him"}
    return {"he": "she", "He": "She", "his": "her", "His": "Her", "him": "her"}


# ---------------------------------------------------------------------------------------
# books
# ---------------------------------------------------------------------------------------


def story(rng: random.Random) -> tuple[str, str]:
    name, gender = rng.choice(T.NAMES)
    friend, _ = rng.choice([n for n in T.NAMES if n[0] != name])
    animal, friend_animal = rng.sample(T.ANIMALS, 2)
    obj, color = rng.choice(T.OBJECTS)
    spot1, spot2, spot3 = rng.sample(T.SPOTS, 3)
    values = {
        "name": name, "friend": friend, "animal": animal, "friend_animal": friend_animal,
        "object": obj, "color": color, "spot1": spot1, "spot2": spot2, "spot3": spot3,
        "food": rng.choice(T.FOODS), "hobby": rng.choice(T.HOBBIES),
        "place": rng.choice(T.PLACES), "adj": rng.choice(T.ADJECTIVES),
        **pronouns(gender),
    }  # fmt: skip
    openings = [
        "Once upon a time, in {place}, there lived a {adj} {animal} named {name}.",
        "{name} was a {adj} {animal} who lived in {place}.",
        "There was once a {adj} {animal} called {name}. {He} lived in {place}.",
        "In {place}, there was a {adj} {animal}. {His} name was {name}.",
    ]
    habits = [
        "{name} loved {hobby} more than anything.",
        "Every day, {name} spent hours {hobby}.",
        "{His} favourite thing in the world was {hobby}.",
    ]
    endings = [
        "That night, {name} went to bed with a big smile.",
        "From that day on, {name} and {friend} were the best of friends.",
        "The sun went down, and everyone went home happy.",
        "And {name} never forgot that day.",
    ]
    morals = [
        "{name} learned that {moral}.",
        "It was a good lesson: {moral}.",
        "Sometimes the best thing to learn is that {moral}.",
    ]
    plot = rng.choice(T.PLOTS)
    paragraphs = [
        rng.choice(openings) + " " + rng.choice(habits),
        *plot,
        rng.choice(endings) + " " + rng.choice(morals).replace("{moral}", rng.choice(T.MORALS)),
    ]
    text = "\n\n".join(p.format(**values) for p in paragraphs)
    title = rng.choice(
        ["{name} and the {color} {object}", "The {adj} {animal}", "{name} and {friend}",
         "A day for {name}", "{name} the {animal}"]
    ).format(**values)  # fmt: skip
    return title, text


# ---------------------------------------------------------------------------------------
# conversations
# ---------------------------------------------------------------------------------------


def thread(rng: random.Random, topic: str) -> tuple[str, str]:
    titles, details, answers, followups = T.FORUM_TOPICS[topic]
    title = rng.choice(titles)
    users = rng.sample(T.USERNAMES, 4)
    asker = users[0]
    opener = rng.choice(T.FORUM_OPENERS)
    asked = title if title.endswith("?") else title + "."
    question = " ".join(p for p in (opener, asked, *rng.sample(details, rng.randint(1, 2))) if p)
    shuffled = rng.sample(answers, len(answers))
    first = rng.randint(1, 2)
    second = rng.randint(1, 2)
    posts = [(asker, question)]
    reply = [rng.choice(T.FORUM_REPLY_OPENERS), *shuffled[:first], rng.choice(T.FORUM_CLOSERS)]
    posts.append((users[1], " ".join(p for p in reply if p)))
    posts.append((asker, rng.choice(followups)))
    if rng.random() < 0.7:
        more = [rng.choice(T.FORUM_REPLY_OPENERS), *shuffled[first : first + second]]
        posts.append((users[2], " ".join(p for p in more if p)))
        posts.append((asker, rng.choice(["Thanks!", "Thank you both.", "Much appreciated."])))
    body = "\n\n".join(f"{user}: {text}" for user, text in posts)
    return title, f"Thread: {title}\n\n{body}"


# ---------------------------------------------------------------------------------------
# web_crawl
# ---------------------------------------------------------------------------------------


def wrap_page(rng: random.Random, title: str, body: list[str]) -> str:
    """Surround an article with the boilerplate lines of a crawled page."""
    site = rng.choice(T.SITE_NAMES)
    head = [site, rng.choice(T.NAV_LINES)]
    if rng.random() < 0.6:
        head.append(rng.choice(T.POLICY_LINES))
    head.append(title)
    head.append(f"Posted on {rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2015, 2023)}")
    foot = rng.sample(T.FOOTER_LINES, rng.randint(2, 4))
    if rng.random() < 0.4:
        foot.insert(0, rng.choice(T.JAVASCRIPT_LINES))
    foot.append(f"© {rng.randint(2015, 2024)} {site}")
    return "\n".join([*head, "", *body, "", *foot])


MONTHS = ["January", "March", "April", "June", "July", "September", "October", "December"]


def news_page(rng: random.Random) -> tuple[str, str]:
    events = rng.sample(T.NEWS_EVENTS, rng.choice([1, 2, 2]))
    title, body = news_story(rng, *events[0])
    for headline, text in events[1:]:
        other_title, other_body = news_story(rng, headline, text)
        body += [f"Also in the news: {other_title}.", *other_body]
    return title, wrap_page(rng, title, body)


def news_story(rng: random.Random, headline: str, text: str) -> tuple[str, list[str]]:
    values = {
        "town": rng.choice(T.TOWNS), "day": rng.choice(T.DAYS), "n1": rng.randint(20, 90),
        "n2": rng.randint(12, 80), "n3": rng.randint(3, 15), "n4": rng.randint(6, 18),
        "n5": rng.choice(["three", "four", "five", "six"]), "n6": rng.randint(25, 60),
    }  # fmt: skip
    title = headline.format(**values)
    sentences = re.split(r"(?<=[.!?\"])\s+(?=[A-Z\"])", text.format(**values))
    half = len(sentences) // 2
    return title, [" ".join(sentences[:half]), " ".join(sentences[half:])]


def recipe_page(rng: random.Random) -> tuple[str, str]:
    title, ingredients, steps = rng.choice(T.RECIPES)
    body = [rng.choice(T.RECIPE_INTROS), "Ingredients"]
    body += [f"- {item}" for item in ingredients]
    body.append("Method")
    body += [f"{i}. {step}" for i, step in enumerate(steps, 1)]
    body.append(" ".join(rng.sample(T.RECIPE_TIPS, 2)))
    return title, wrap_page(rng, title, body)


def review_page(rng: random.Random) -> tuple[str, str]:
    product, good, bad = rng.choice(T.PRODUCTS)
    stars = rng.randint(3, 5)
    weeks = rng.randint(2, 12)
    title = f"Review: a {product} after {weeks} weeks"
    body = [
        f"I bought this {product} {weeks} weeks ago and have used it almost every day since. "
        f"Overall I would give it {stars} out of 5 stars.",
        f"What I like: it is {good}. It arrived well packed and was easy to set up.",
        f"What could be better: {bad}. For the price, I can live with that.",
        rng.choice(
            [
                "Would I buy it again? Yes, and I have already recommended it to a friend.",
                "If you need something simple that just works, this is a good choice.",
                "It is not perfect, but it does the job well and feels like it will last.",
            ]
        ),
        f"Rating: {stars}/5",
    ]
    return title, wrap_page(rng, title, body)


def low_quality_pages(rng: random.Random) -> list[tuple[str, str]]:
    """Pages that the quality filters exist for; each fails at least one rule."""
    lorem = (
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "
    )
    spam_words = ["cheap", "flights", "best", "deals", "hotel", "discount", "online", "buy", "now"]
    pages = [
        ("Coming soon", wrap_page(rng, "Coming soon", [lorem * 3, lorem * 2])),
        ("Page not found", "404\nPage not found.\nReturn to the home page."),
        (
            "cheap flights best deals",
            " ".join(rng.choice(spam_words) for _ in range(400)),
        ),
        (
            "Top links",
            "\n".join(f"• {rng.choice(T.TOWNS)} {rng.choice(spam_words)}" for _ in range(60)),
        ),
        (
            "Latest headlines",
            "\n".join(
                f"{rng.choice(T.TOWNS)} council says the new plan will change the way that..."
                for _ in range(30)
            ),
        ),
        (
            "Stock table",
            "\n".join(" ".join(f"{rng.uniform(1, 999):.2f}" for _ in range(8)) for _ in range(60)),
        ),
        (
            "#summer #sale",
            " ".join(
                f"#{rng.choice(spam_words)}{rng.randint(1, 99)} {rng.choice(spam_words)}"
                for _ in range(150)
            ),
        ),
        (
            "Product template",
            wrap_page(
                rng,
                "{{ product.name }}",
                [
                    "{{ product.description }} The product you are looking for is available "
                    "in many colours and sizes, and it ships to all countries within a week.",
                    "Price: {{ product.price }}. Add the product to your basket and check out "
                    "with any card. Returns are free within thirty days of delivery.",
                    "Customers who bought this item also bought {{ related.items }}. "
                    "Sign up to get the latest offers straight to your inbox every week.",
                ],
            ),
        ),
        (
            "Enable JavaScript",
            "You need to enable JavaScript to run this app.\n" * 12,
        ),
        (
            "Repeated banner",
            "\n".join(
                ["Big summer sale, up to half price on everything in the shop today."] * 25
                + ["Visit our shop in the town centre for more offers and friendly advice."]
            ),
        ),
        (
            "Item codes",
            "\n".join(
                " ".join(
                    f"{rng.choice('ABCDEFGHKLMNPRSTUVWXYZ')}{rng.randint(100, 9999)}-"
                    f"{rng.choice(['XL', 'M', 'S', 'L'])}"
                    for _ in range(6)
                )
                for _ in range(30)
            ),
        ),
        (
            "Share this",
            "Like us on Facebook\nFollow us on Twitter\nShare this page\nContact us",
        ),
    ]
    return pages


# ---------------------------------------------------------------------------------------
# code, scientific and wikipedia: text from the standard library
# ---------------------------------------------------------------------------------------


def code_files() -> list[tuple[str, str]]:
    return [(f"{m}.py", (STDLIB / f"{m}.py").read_text(encoding="utf-8")) for m in CODE_MODULES]


def docstring_documents() -> list[tuple[str, str]]:
    """One document per module or class: its docstring and those of its functions."""
    documents = []
    for module in SCIENTIFIC_MODULES:
        tree = ast.parse((STDLIB / f"{module}.py").read_text(encoding="utf-8"))
        name = module.lstrip("_")
        parts: dict[str, list[str]] = {name: []}
        if ast.get_docstring(tree):
            parts[name].append(ast.get_docstring(tree))
        for node in tree.body:
            if (
                isinstance(node, ast.FunctionDef)
                and ast.get_docstring(node)
                and not node.name.startswith("_")
            ):
                parts[name].append(f"{node.name}()\n\n{ast.get_docstring(node)}")
            elif isinstance(node, ast.ClassDef):
                key = f"{name}.{node.name}"
                parts[key] = [ast.get_docstring(node)] if ast.get_docstring(node) else []
                for child in node.body:
                    child_name = getattr(child, "name", "_")
                    public = not child_name.startswith("_") or child_name == "__init__"
                    if isinstance(child, ast.FunctionDef) and ast.get_docstring(child) and public:
                        parts[key].append(f"{child.name}()\n\n{ast.get_docstring(child)}")
        for key, texts in parts.items():
            text = "\n\n".join(texts)
            if len(text) > 600:
                documents.append((key, text))
    return documents


HEADING = re.compile(r"^(.+)\n([*=])\2{2,}$", flags=re.MULTILINE)


def reference_articles() -> list[tuple[str, str]]:
    """The language reference topics, split at their top two heading levels."""
    from pydoc_data.topics import topics

    articles = []
    for key in sorted(topics):
        text = topics[key].strip()
        starts = [m.start() for m in HEADING.finditer(text)] or [0]
        if starts[0] != 0:
            starts.insert(0, 0)
        pieces = [text[a:b].strip() for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
        merged: list[str] = []
        for piece in pieces:
            if merged and len(merged[-1]) < 800:
                merged[-1] = merged[-1] + "\n\n" + piece
            else:
                merged.append(piece)
        for piece in merged:
            if len(piece) >= 400:
                articles.append((piece.splitlines()[0], piece))
    return articles


# ---------------------------------------------------------------------------------------
# assembling, planting duplicates
# ---------------------------------------------------------------------------------------


def generate(rng: random.Random, make, count: int, limit: float = 0.6):
    """``count`` documents from ``make(rng)``, none closer than ``limit`` to another."""
    made: list[tuple[str, str]] = []
    seen: list[set[str]] = []
    attempts = 0
    while len(made) < count and attempts < 50 * count:
        attempts += 1
        title, text = make(rng)
        mine = comparable(text)
        if all(len(mine & other) / len(mine | other) <= limit for other in seen):
            made.append((title, text))
            seen.append(mine)
    return made


def near_copy(rng: random.Random, text: str, edits: int) -> str:
    """A copy with ``edits`` words changed and a line of boilerplate added, as mirrors do."""
    words = text.split(" ")
    for _ in range(edits):
        i = rng.randrange(len(words))
        if words[i].isalpha():
            words[i] = words[i].upper() if rng.random() < 0.5 else words[i] + "s"
    return " ".join(words) + "\n\nMirrored from the original site."


def main() -> int:
    rng = random.Random(SEED)
    sources: dict[str, list[tuple[str, str]]] = {
        "web_crawl": generate(
            rng,
            lambda r: r.choice([news_page, news_page, news_page, recipe_page, review_page])(r),
            90,
            limit=0.6,
        ),
        "code": code_files(),
        "books": generate(rng, story, 400),
        "conversations": [],
        "scientific": docstring_documents(),
        "wikipedia": reference_articles(),
    }
    threads = []
    for topic in T.FORUM_TOPICS:
        threads += generate(rng, lambda r, t=topic: thread(r, t), 8, limit=0.45)
    rng.shuffle(threads)
    sources["conversations"] = threads

    records = []
    for source, documents in sources.items():
        for title, text in documents:
            records.append({"source": source, "title": title, "text": text, "planted": None})
    rng.shuffle(records)

    def plant(kind: str, original: dict, text: str) -> None:
        position = rng.randint(records.index(original) + 1, len(records))
        records.insert(position, {**original, "text": text, "planted": kind, "copy_of": original})

    by_source = {s: [r for r in records if r["source"] == s] for s in sources}
    # Exact duplicates: syndicated pages, a vendored file, a re-posted story and thread.
    for original in rng.sample(by_source["web_crawl"], 4):
        plant("exact_duplicate", original, original["text"])
    page = by_source["web_crawl"][0]
    plant("exact_duplicate", page, "  " + page["text"].replace("\n", " \r\n").replace(". ", ".  "))
    for source in ("code", "books", "conversations"):
        original = rng.choice(by_source[source])
        plant("exact_duplicate", original, original["text"])
    # Near duplicates: mirrors with a few words changed; pages also get another site's frame.
    for original in rng.sample(by_source["web_crawl"], 4):
        body = original["text"].split("\n\n")[1]
        mirror = wrap_page(rng, original["title"], [near_copy(rng, body, 0)])
        plant("near_duplicate", original, mirror)
    for source, count in (("books", 3), ("conversations", 2), ("code", 1)):
        for original in rng.sample(by_source[source], count):
            edits = max(2, len(original["text"].split()) // 150)
            plant("near_duplicate", original, near_copy(rng, original["text"], edits))
    # Low-quality pages.
    for title, text in low_quality_pages(rng):
        position = rng.randint(0, len(records))
        records.insert(position, {"source": "web_crawl", "title": title, "text": text,
                                  "planted": "low_quality"})  # fmt: skip

    for record in records:
        if record["planted"] == "near_duplicate":
            original = record["copy_of"]["text"]
            similarity = jaccard(c4_clean_lines(original)[0], c4_clean_lines(record["text"])[0])
            if record["source"] != "web_crawl":
                similarity = jaccard(original, record["text"])
            assert 0.85 <= similarity < 1, (record["title"], similarity)
    position = {id(record): i for i, record in enumerate(records)}
    for i, record in enumerate(records):
        record["id"] = i
        record["copy_of"] = position[id(record["copy_of"])] if record.get("copy_of") else None

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUTPUT, "wb", mtime=0) as raw:
        for record in records:
            raw.write((json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode())
    sizes: dict[str, int] = {}
    for record in records:
        sizes[record["source"]] = sizes.get(record["source"], 0) + len(record["text"].encode())
    print(f"Python {sys.version.split()[0]}: {len(records)} documents")
    for source, size in sizes.items():
        print(f"  {source:<14} {size / 1e3:8.1f} kB")
    total = sum(sizes.values()) / 1e3
    print(f"  {'total':<14} {total:8.1f} kB -> {OUTPUT.stat().st_size / 1e3:.0f} kB compressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
