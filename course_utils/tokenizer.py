"""A byte-level byte-pair-encoding (BPE) tokenizer, trained from scratch (chapter 4).

Byte-level BPE (Radford et al. 2019, GPT-2, section 2.2) starts from the 256 byte values,
so it can encode any string, and repeatedly merges the most frequent adjacent pair of
tokens into a new token (Sennrich et al. 2016). Text is first split into pieces (words,
numbers, punctuation, spaces) with GPT-2's pre-tokenization pattern, and merges never cross
a piece boundary.

Training counts pairs once and then updates only the words a merge touches (the
incremental update every practical trainer uses), so a few hundred merges on a megabyte of
text take seconds. Ties between equally frequent pairs are broken in GPT-2's byte-to-unicode
order, the order Hugging Face ``tokenizers`` uses, so both learn the same merges.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

from course_utils.checks import instance_of, int_at_least, not_empty

#: GPT-2's pre-tokenization pattern (openai/gpt-2, src/encoder.py) written for the standard
#: library's ``re``, which lacks ``\p{L}``/``\p{N}``: ``[^\W\d_]`` stands for a letter,
#: ``\d`` for a number. It splits text exactly like the original except for numerals that
#: are not decimal digits (², ½, Ⅻ), which ``re`` counts as letters, not numbers.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
GPT2_SPLIT = re.compile(GPT2_PATTERN)
N_BYTES = 256


def pretokenize(text: str) -> list[str]:
    """Split text into the pieces BPE merges within; joined they give back ``text``."""
    return GPT2_SPLIT.findall(text)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte (a space shows as 'Ġ', newline 'Ċ').

    Printable bytes stand for themselves; the others are shifted to code points from 256 up.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    mapping = {b: chr(b) for b in printable}
    shift = 0
    for b in range(N_BYTES):
        if b not in mapping:
            mapping[b] = chr(N_BYTES + shift)
            shift += 1
    return mapping


BYTE_TO_UNICODE = bytes_to_unicode()
UNICODE_TO_BYTE = {char: byte for byte, char in BYTE_TO_UNICODE.items()}
#: Rank of each byte when ties are broken: the order of its stand-in character's code point.
BYTE_RANK = {b: rank for rank, b in enumerate(sorted(range(N_BYTES), key=BYTE_TO_UNICODE.get))}


def printable(token: bytes) -> str:
    """A token's bytes in GPT-2's printable form, e.g. b' the' -> 'Ġthe'."""
    return "".join(BYTE_TO_UNICODE[b] for b in token)


def from_printable(text: str) -> bytes:
    """Inverse of :func:`printable`."""
    try:
        return bytes(UNICODE_TO_BYTE[c] for c in text)
    except KeyError as error:
        raise ValueError(f"not a byte-level token: {text!r}") from error


def _merge_word(word: tuple[int, ...], pair: tuple[int, int], new_id: int) -> tuple[int, ...]:
    """Replace each occurrence of ``pair`` in ``word``, left to right, by ``new_id``."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


class BPETokenizer:
    """Byte-level BPE: ``train`` it on text, then ``encode`` and ``decode`` (chapter 4).

    ``BPETokenizer(merges)`` builds one from a list of ``(left, right)`` byte strings in the
    order they were learned; ids 0-255 are the bytes, each merge adds the next id (a merge
    whose result already is a token reuses that token's id).
    """

    def __init__(self, merges: Iterable[tuple[bytes, bytes]] = ()):
        self.vocab: list[bytes] = [bytes([b]) for b in range(N_BYTES)]
        self._ids: dict[bytes, int] = {token: i for i, token in enumerate(self.vocab)}
        self.merges: list[tuple[int, int]] = []
        self._ranks: dict[tuple[int, int], tuple[int, int]] = {}  # pair -> (rank, new id)
        self._cache: dict[str, tuple[int, ...]] = {}
        for left, right in merges:
            if left not in self._ids or right not in self._ids:
                raise ValueError(f"merge {left!r} + {right!r} uses a token not yet defined")
            self._add_merge(self._ids[left], self._ids[right])

    def _add_merge(self, left: int, right: int) -> int:
        token = self.vocab[left] + self.vocab[right]
        new_id = self._ids.get(token)
        if new_id is None:
            new_id = len(self.vocab)
            self.vocab.append(token)
            self._ids[token] = new_id
        self._ranks[(left, right)] = (len(self.merges), new_id)
        self.merges.append((left, right))
        self._cache.clear()
        return new_id

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # -----------------------------------------------------------------------------------
    # training
    # -----------------------------------------------------------------------------------

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges from ``text`` until the vocabulary has ``vocab_size`` tokens (chapter 4).

        Stops early if no pair occurs any more. Ties go to the pair whose tokens come first
        (bytes in GPT-2's byte-to-unicode order, then learned tokens by age).
        """
        instance_of("text", text, str)
        int_at_least("vocab_size", vocab_size, N_BYTES)  # at least one token per byte
        tokenizer = cls()
        piece_counts = Counter(pretokenize(text))
        words = [tuple(piece.encode("utf-8")) for piece in piece_counts]
        counts = list(piece_counts.values())

        pair_counts: Counter[tuple[int, int]] = Counter()
        where: dict[tuple[int, int], set[int]] = {}
        for index, (word, count) in enumerate(zip(words, counts, strict=True)):
            for pair in pairwise(word):
                pair_counts[pair] += count
                where.setdefault(pair, set()).add(index)

        def rank(token: int) -> int:
            return BYTE_RANK[token] if token < N_BYTES else token

        def entry(pair: tuple[int, int]) -> tuple[int, int, int, int, int]:
            return (-pair_counts[pair], rank(pair[0]), rank(pair[1]), *pair)

        heap = [entry(pair) for pair in pair_counts]
        heapq.heapify(heap)
        while tokenizer.vocab_size < vocab_size and heap:
            negative_count, _, _, left, right = heapq.heappop(heap)
            pair = (left, right)
            if -negative_count != pair_counts[pair]:  # stale: the count fell since it was pushed
                if pair_counts[pair] > 0:
                    heapq.heappush(heap, entry(pair))
                continue
            if pair_counts[pair] <= 0:
                break
            new_id = tokenizer._add_merge(left, right)
            grown: set[tuple[int, int]] = set()
            for index in where.pop(pair):
                word, count = words[index], counts[index]
                if len(word) < 2:
                    continue
                merged = _merge_word(word, pair, new_id)
                if merged == word:
                    continue
                for old in pairwise(word):
                    pair_counts[old] -= count
                for new in pairwise(merged):
                    pair_counts[new] += count
                    if new_id in new:
                        grown.add(new)
                        where.setdefault(new, set()).add(index)
                words[index] = merged
            pair_counts.pop(pair, None)
            for new in grown:
                if pair_counts[new] > 0:
                    heapq.heappush(heap, entry(new))
        return tokenizer

    # -----------------------------------------------------------------------------------
    # encoding and decoding
    # -----------------------------------------------------------------------------------

    def _encode_piece(self, piece: str) -> tuple[int, ...]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        word = tuple(piece.encode("utf-8"))
        while len(word) > 1:
            ranked = [(self._ranks[p], p) for p in pairwise(word) if p in self._ranks]
            if not ranked:
                break
            (_, new_id), pair = min(ranked)
            word = _merge_word(word, pair, new_id)
        self._cache[piece] = word
        return word

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text`` (chapter 4): merges applied in the order they were learned."""
        instance_of("text", text, str)
        ids: list[int] = []
        for piece in pretokenize(text):
            ids.extend(self._encode_piece(piece))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text for a list of token ids (chapter 4); invalid UTF-8 shows as '�'."""
        try:
            data = b"".join(self.vocab[i] for i in ids)
        except (IndexError, TypeError) as error:
            raise ValueError(f"ids must be ints in 0..{self.vocab_size - 1}") from error
        return data.decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` in GPT-2's printable form, for display."""
        return [printable(self.vocab[i]) for i in self.encode(text)]

    def bytes_per_token(self, text: str) -> float:
        """Compression: UTF-8 bytes of ``text`` per token (1.0 before any merge)."""
        ids = self.encode(text)
        if not ids:
            raise ValueError("text must not be empty")
        return len(text.encode("utf-8")) / len(ids)

    # -----------------------------------------------------------------------------------
    # saving and loading
    # -----------------------------------------------------------------------------------

    def merge_list(self) -> list[tuple[bytes, bytes]]:
        """The learned merges as ``(left, right)`` byte strings, in order."""
        return [(self.vocab[a], self.vocab[b]) for a, b in self.merges]

    def to_dict(self) -> dict:
        """A JSON-ready description: merges in GPT-2's printable ``"left right"`` form."""
        return {
            "type": "byte-level BPE",
            "pre_tokenizer": GPT2_PATTERN,
            "merges": [f"{printable(a)} {printable(b)}" for a, b in self.merge_list()],
        }

    @classmethod
    def from_dict(cls, data: dict) -> BPETokenizer:
        if data.get("type") != "byte-level BPE" or data.get("pre_tokenizer") != GPT2_PATTERN:
            raise ValueError("data must describe a byte-level BPE tokenizer with GPT-2 splitting")
        merges = []
        for line in data["merges"]:
            left, right = line.split(" ")
            merges.append((from_printable(left), from_printable(right)))
        return cls(merges)

    def save(self, path: str | Path) -> None:
        """Write the tokenizer to a JSON file (chapter 5 keeps it with the model checkpoint)."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"


class CharTokenizer:
    """One token per character: the simplest tokenizer, used to train chapter 5's model.

    Its vocabulary is the set of characters of the text it was built from, in code-point
    order. Same interface as :class:`BPETokenizer` (``encode``, ``decode``, ``save``,
    ``load``). A character-level model needs no merges and learns spelling first; its loss per
    token is directly a loss per character.
    """

    TYPE = "character"

    def __init__(self, characters: Iterable[str]):
        vocab = sorted(set(characters))
        if not vocab or any(not isinstance(c, str) or len(c) != 1 for c in vocab):
            raise ValueError("characters must be a non-empty collection of single characters")
        self.vocab: list[str] = vocab
        self._ids = {char: i for i, char in enumerate(vocab)}

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        """A tokenizer with one token for each distinct character of ``text`` (chapter 5)."""
        not_empty("text", instance_of("text", text, str))
        return cls(text)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; a character outside the vocabulary is a ``ValueError``."""
        instance_of("text", text, str)
        try:
            return [self._ids[char] for char in text]
        except KeyError:
            unknown = sorted(set(text) - set(self._ids))
            raise ValueError(f"characters not in the vocabulary: {unknown[:10]!r}") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The text for a list of token ids."""
        try:
            return "".join(self.vocab[i] for i in ids)
        except (IndexError, TypeError) as error:
            raise ValueError(f"ids must be ints in 0..{self.vocab_size - 1}") from error

    def to_dict(self) -> dict:
        """A JSON-ready description: the characters, in id order."""
        return {"type": self.TYPE, "characters": "".join(self.vocab)}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        if data.get("type") != cls.TYPE or not isinstance(data.get("characters"), str):
            raise ValueError("data must describe a character tokenizer (from to_dict)")
        tokenizer = cls(data["characters"])
        if "".join(tokenizer.vocab) != data["characters"]:
            raise ValueError("characters must be distinct and in code-point order")
        return tokenizer

    def save(self, path: str | Path) -> None:
        """Write the tokenizer to a JSON file."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        """Read a tokenizer written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


Tokenizer = BPETokenizer | CharTokenizer


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """Rebuild either tokenizer from its ``to_dict()`` (chapter 5's checkpoints store it)."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == CharTokenizer.TYPE:
        return CharTokenizer.from_dict(data)
    if kind == "byte-level BPE":
        return BPETokenizer.from_dict(data)
    raise ValueError(f"unknown tokenizer type {kind!r}: expected 'character' or 'byte-level BPE'")
