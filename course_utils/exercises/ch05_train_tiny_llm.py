"""Chapter 5's exercises: training a tiny LLM and measuring it."""

from __future__ import annotations

import math

from course_utils.compute import training_flops
from course_utils.exercises.framework import Exercise, close_to, exact_count, register
from course_utils.training import TrainingConfig, bits_per_character, learning_rate_at

# Exercise 5.1: the schedule its prompt describes.
_SCHEDULE = TrainingConfig(steps=2000, warmup_steps=200, learning_rate=1e-3, min_learning_rate=1e-4)

register(
    Exercise(
        id="5.1",
        prompt="A run of 2,000 steps (numbered 0 to 1,999) warms up linearly for 200 steps to a "
        "peak learning rate of 1e-3, then decays along half a cosine to 1e-4 at its last step. "
        "What is the learning rate at step 1,100?",
        hint="the cosine starts after the warm-up: its progress is (1100 − 200) / (1999 − 200). "
        "The rate is min + (peak − min) · ½ · (1 + cos(π · progress)).",
        judge=close_to(learning_rate_at(1100, _SCHEDULE), rel_tol=1e-3),
        example_solution=lambda: 1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * 900 / 1799)),
        example_mistake=lambda: 1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * 1100 / 1999)),
        explanation="Just past the middle of the cosine: about 5.5e-4, a little under halfway "
        "between peak and minimum.",
    )
)

register(
    Exercise(
        id="5.2",
        prompt="A BPE model reaches a validation loss of 3.1 nats per token on text where one "
        "token is 3.8 characters on average. What is its loss in bits per character?",
        hint="nats → bits: divide by ln 2. Per token → per character: a token covers 3.8 "
        "characters, so each character carries a 3.8th of the token's bits.",
        judge=close_to(bits_per_character(3.1, tokens_per_character=1 / 3.8), rel_tol=1e-3),
        example_solution=lambda: 3.1 / math.log(2) / 3.8,
        example_mistake=lambda: 3.1 / math.log(2) * 3.8,
        explanation="About 1.18 bits per character: per token the BPE model looks far worse than "
        "a character model (3.1 vs about 1.4 nats), per character it can be better.",
    )
)

# Exercises 5.4 and 5.5: the run their prompts describe.
_RUN = TrainingConfig(steps=1500, batch_size=32, context_len=64)
_N_PARAMS = 273_408

register(
    Exercise(
        id="5.4",
        prompt="A run takes 1,500 steps, each on a batch of 32 windows of 64 tokens to predict. "
        "How many tokens D does the model train on?",
        hint="every step predicts batch_size × context_len tokens.",
        judge=exact_count(_RUN.tokens),
        example_solution=lambda: 1500 * 32 * 64,
        example_mistake=lambda: 1500 * 32 * 65,
        explanation="3,072,000 tokens: a window holds 65 tokens, but only 64 are predicted (the "
        "first has no history).",
    )
)

register(
    Exercise(
        id="5.5",
        prompt="The model of exercise 5.4 has 273,408 parameters. How many FLOPs does the run "
        "cost by chapter 1's rule?",
        hint="C ≈ 6·N·D: about 2·N per token forward and 4·N backward.",
        judge=close_to(training_flops(_N_PARAMS, _RUN.tokens), rel_tol=1e-3),
        example_solution=lambda: 6 * 273_408 * 3_072_000,
        example_mistake=lambda: 2 * 273_408 * 3_072_000,
        explanation="About 5.0e12 FLOPs; 2·N·D counts the forward pass only, a third of the work.",
    )
)

# Exercise 5.3: the study's 16-wide model, counted both ways (chapter 5, section 5).
_TOTAL, _EMBEDDING, _TOKENS = 9_408, 167 * 16, 2_400_000

register(
    Exercise(
        id="5.3",
        prompt="A model of the study has N = 9,408 parameters; 2,672 of them are its token "
        "embedding (167 characters × width 16), which is also its output layer. At its budget "
        "it trains on D = 2,400,000 tokens. What is D/N in Kaplan et al.'s count, which leaves "
        "the embeddings out?",
        hint="Kaplan's N is the parameters without the embedding matrix: subtract it before "
        "dividing. The tied output layer is the same matrix, so subtract it once.",
        judge=close_to(_TOKENS / (_TOTAL - _EMBEDDING), rel_tol=1e-3),
        example_solution=lambda: 2_400_000 / (9_408 - 2_672),
        example_mistake=lambda: 2_400_000 / 9_408,
        explanation="About 356 tokens per parameter, against 255 counting every parameter: the "
        "same run, 40% more data per parameter, only because of how N is counted.",
    )
)
