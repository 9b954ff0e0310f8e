"""BPE training time: the course's tokenizer against Hugging Face tokenizers (chapter 4).

    python bench/bench_tokenizer.py

Both train on the cleaned course corpus with the same settings (GPT-2 byte-level splitting,
no special tokens); the table gives the best of three runs and the paired ratio.
"""

from __future__ import annotations

import time

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from course_utils import BPETokenizer, training_text


def best_of(runs: int, function) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def train_reference(text: str, vocab_size: int) -> None:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([text], trainer=trainer)


def main() -> None:
    text = training_text()
    print(f"BPE training on {len(text.encode()) / 1e6:.2f} MB (best of 3)")
    print(f"{'vocab size':>10} {'course (s)':>11} {'tokenizers (s)':>15} {'ratio':>6}")
    for vocab_size in (512, 1024, 2048):
        ours = best_of(3, lambda v=vocab_size: BPETokenizer.train(text, v))
        theirs = best_of(3, lambda v=vocab_size: train_reference(text, v))
        print(f"{vocab_size:>10} {ours:>11.2f} {theirs:>15.2f} {ours / theirs:>6.1f}")


if __name__ == "__main__":
    main()
