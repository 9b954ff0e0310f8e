import json

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from course_utils.pipeline import training_text
from course_utils.tokenizer import (
    BPETokenizer,
    CharTokenizer,
    bytes_to_unicode,
    from_printable,
    pretokenize,
    printable,
    tokenizer_from_dict,
)

# GPT-2's pattern as published (openai/gpt-2, src/encoder.py), for the third-party regex module.
GPT2_ORIGINAL = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
VOCAB_SIZE = 600


@pytest.fixture(scope="module")
def text():
    return training_text()


@pytest.fixture(scope="module")
def trained(text):
    return BPETokenizer.train(text, VOCAB_SIZE)


@pytest.fixture(scope="module")
def reference(text):
    """Hugging Face tokenizers configured like ours: GPT-2 byte-level splitting, no extras."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=0,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


def reference_merges(tokenizer) -> list[tuple[str, str]]:
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]


def test_same_merges_as_hugging_face_tokenizers(trained, reference):
    ours = [(printable(a), printable(b)) for a, b in trained.merge_list()]
    assert len(ours) == VOCAB_SIZE - 256
    assert ours == reference_merges(reference)


def test_same_tokens_and_compression_as_hugging_face_tokenizers(trained, reference, text):
    sample = text[:50_000]
    ours = trained.tokens(sample)
    theirs = reference.encode(sample).tokens
    assert ours == theirs
    assert trained.bytes_per_token(text) == pytest.approx(
        len(text.encode()) / len(reference.encode(text).ids), rel=1e-12
    )


def test_encoding_with_hugging_face_merges_matches_their_encoder(reference):
    """Our encoder, given their merges, tokenizes unseen text as theirs does."""
    merges = [(from_printable(a), from_printable(b)) for a, b in reference_merges(reference)]
    ours = BPETokenizer(merges)
    unseen = "Hyperparameters aren't learned; they're chosen. Ünïcödé, 数字 123456 and tabs\t\t!"
    assert ours.tokens(unseen) == reference.encode(unseen).tokens


def test_training_compresses_and_round_trips(trained, text):
    assert trained.vocab_size == VOCAB_SIZE
    assert 1.8 < trained.bytes_per_token(text) < 3.0
    assert trained.decode(trained.encode(text)) == text
    assert BPETokenizer().bytes_per_token("abc") == 1.0


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_on_any_unicode(trained, s):
    assert trained.decode(trained.encode(s)) == s
    assert "".join(pretokenize(s)) == s


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Nl", "No", "Cs", "Cn"))))
def test_pretokenizer_matches_gpt2_pattern(s):
    # Unassigned code points (Cn) are left out: regex may know a newer Unicode than re.
    # \x1c-\x1f count as whitespace for re (str.isspace) but not for \p{White_Space}
    s = "".join(c for c in s if c not in "\x1c\x1d\x1e\x1f")
    assert pretokenize(s) == GPT2_ORIGINAL.findall(s)


def test_pretokenizer_difference_is_documented():
    assert GPT2_ORIGINAL.findall("x²") == ["x", "²"]
    assert pretokenize("x²") == ["x²"]  # re counts ² as a letter: a documented difference


def test_bytes_to_unicode_is_gpt2s_table():
    table = bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())


def test_small_example_by_hand():
    tokenizer = BPETokenizer.train("aaab aaab aaab", 258)
    # ('a','a') occurs 6 times (overlapping windows); then (aa, a) and (aa, ab) tie at 3 ...
    assert tokenizer.merge_list()[0] == (b"a", b"a")
    assert tokenizer.encode("aa") == [256]
    assert tokenizer.decode([256, 98]) == "aab"


def test_save_and_load(tmp_path, trained, text):
    path = tmp_path / "tokenizer.json"
    trained.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.merges == trained.merges
    assert loaded.encode(text[:5000]) == trained.encode(text[:5000])
    with pytest.raises(ValueError, match="byte-level BPE"):
        BPETokenizer.from_dict({"type": "wordpiece"})


def test_bad_input():
    with pytest.raises(ValueError, match="vocab_size"):
        BPETokenizer.train("abc", 100)
    with pytest.raises(ValueError, match="text must be a str"):
        BPETokenizer.train(b"abc", 300)
    with pytest.raises(ValueError, match="ids must be"):
        BPETokenizer().decode([999])
    with pytest.raises(ValueError, match="not yet defined"):
        BPETokenizer([(b"ab", b"c")])
    with pytest.raises(ValueError, match="byte-level token"):
        from_printable(" ")
    assert BPETokenizer.train("", 300).vocab_size == 256


# --- the character tokenizer (chapter 5) ---------------------------------------------------


def test_character_tokenizer_round_trips_the_corpus(text):
    tokenizer = CharTokenizer.train(text)
    assert tokenizer.vocab == sorted(set(text))
    ids = tokenizer.encode(text[:5000])
    assert len(ids) == 5000 and max(ids) < tokenizer.vocab_size
    assert tokenizer.decode(ids) == text[:5000]


def test_character_tokenizer_refuses_what_it_has_not_seen():
    tokenizer = CharTokenizer.train("abc")
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['z'\]"):
        tokenizer.encode("abz")
    with pytest.raises(ValueError, match="ids must be ints in 0..2"):
        tokenizer.decode([3])
    with pytest.raises(ValueError, match="text must not be empty"):
        CharTokenizer.train("")
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab"])


def test_both_tokenizers_save_and_load_through_one_json_reader(tmp_path, trained):
    characters = CharTokenizer.train("hello, world")
    characters.save(tmp_path / "chars.json")
    assert CharTokenizer.load(tmp_path / "chars.json").vocab == characters.vocab
    for tokenizer in (characters, trained):
        rebuilt = tokenizer_from_dict(json.loads(json.dumps(tokenizer.to_dict())))
        assert type(rebuilt) is type(tokenizer)
        assert rebuilt.encode("hello, world") == tokenizer.encode("hello, world")
    with pytest.raises(ValueError, match="unknown tokenizer type"):
        tokenizer_from_dict({"type": "wordpiece"})
    with pytest.raises(ValueError, match="code-point order"):
        CharTokenizer.from_dict({"type": "character", "characters": "ba"})
