"""Chapter 9's quiz: questions on every chapter, each answer with its explanation.

Multiple-choice questions are registered with the framework's ``multiple_choice``: every wrong
letter carries the sentence that explains why it is wrong, and the right one an explanation of
why it is right. Numeric questions (``numeric``) recognise the typical slips and say which one
was made. The chapter shows each question with ``question_markdown``, the text it was
registered with.
"""

from __future__ import annotations

import math
from functools import cache

from course_utils.compute import ACCELERATORS, training_flops, training_run
from course_utils.corpus import load_corpus
from course_utils.exercises.framework import multiple_choice, numeric
from course_utils.layers import rope_frequencies
from course_utils.memory import ADAM_BYTES_PER_PARAMETER, BYTES_PER_PARAMETER
from course_utils.parameters import parameter_breakdown
from course_utils.pipeline import clean_corpus
from course_utils.presets import PRESETS
from course_utils.scaling import CHINCHILLA, EPOCH_2024, KAPLAN_PARAMS_EXPONENT
from course_utils.training import bits_per_character

# --- chapter 0: how the course runs ----------------------------------------------------------

multiple_choice(
    id="9.1",
    title="reproducing a run",
    chapter=0,
    question="You ran cells out of order, edited one near the top, and a number no longer "
    "matches the stored output. What reproduces exactly what the course's tests run?",
    options={
        "a": "*Kernel → Restart Kernel and Run All Cells…*;",
        "b": "run the cell that shows the number again;",
        "c": "*File → Revert Notebook to Checkpoint*;",
        "d": "save the notebook and reload the browser page.",
    },
    right="a",
    why_not={
        "b": "the kernel keeps whatever state the out-of-order runs left behind; running one cell "
        "again cannot undo it.",
        "c": "that throws away your edits (it restores the file) and leaves the kernel's state as "
        "it was.",
        "d": "the kernel keeps running with the same state; reloading the page changes nothing it "
        "computes.",
    },
    explanation="a fresh kernel running every cell from the top is how the tests and "
    "`make execute` run each notebook, and `setup_notebook()` re-seeds every generator.",
    hint="what state lives in the kernel, and how do you start from none?",
)

# --- chapter 1: parameters, memory, compute ----------------------------------------------------

_GPT3_PARTS = parameter_breakdown(PRESETS["gpt3-175b"].config)
_GPT3_MLP_SHARE = _GPT3_PARTS["mlp"] / sum(_GPT3_PARTS.values())
_GPT3_EMBEDDING_SHARE = _GPT3_PARTS["token_embeddings"] / sum(_GPT3_PARTS.values())

multiple_choice(
    id="9.2",
    title="where the parameters live",
    chapter=1,
    question="Which component holds most of GPT-3 175B's parameters?",
    options={
        "a": "the token embeddings;",
        "b": "the MLP layers;",
        "c": "the attention layers;",
        "d": "the norms.",
    },
    right="b",
    why_not={
        "a": f"embeddings dominate small models (a third of GPT-2 small) but are "
        f"{_GPT3_EMBEDDING_SHARE:.1%} of GPT-3: they grow with d, the layers with d².",
        "c": "attention holds 4·d² per layer, the MLP 8·d²: a third against two thirds.",
        "d": "a norm holds one or two vectors of d numbers: negligible.",
    },
    explanation=f"the MLPs hold {_GPT3_MLP_SHARE:.0%}: 8·d² of each layer's 12·d².",
    hint="compare 4·d² (attention) with 8·d² (MLP) per layer, and vocabulary × d once.",
)

_FINE_TUNE_PARAMS = 13e9
_GB = 1e9


def _fine_tune_gb(bytes_per_parameter: float) -> float:
    return _FINE_TUNE_PARAMS * bytes_per_parameter / _GB


numeric(
    id="9.3",
    title="memory to fine-tune a 13B model",
    chapter=1,
    question="You fine-tune all of a 13B-parameter model (N = 13·10⁹) with mixed-precision "
    "Adam. How many GB do its weights, gradients and optimizer states take together, "
    "activations aside? (1 GB = 10⁹ bytes.)",
    answer=lambda: _fine_tune_gb(sum(ADAM_BYTES_PER_PARAMETER["mixed"])),
    slips={
        "the bf16 weights alone; training also stores gradients and Adam's fp32 states.": (
            lambda: _fine_tune_gb(BYTES_PER_PARAMETER["bf16"])
        ),
        "the fp32 weights alone; gradients and optimizer states come on top.": (
            lambda: _fine_tune_gb(BYTES_PER_PARAMETER["fp32"])
        ),
        "the optimizer states alone; add the 16-bit weights and gradients.": (
            lambda: _fine_tune_gb(ADAM_BYTES_PER_PARAMETER["mixed"][2])
        ),
    },
    rel_tol=1e-3,
    unit="GB",
    explanation="16 bytes per parameter (2 weights + 2 gradients + 12 for the fp32 master "
    "copy, momentum and variance): 208 GB, three 80 GB GPUs before a single activation.",
    hint="ZeRO's accounting: bytes per parameter for weights, gradients and optimizer states.",
)

_H100 = ACCELERATORS["H100-SXM"]
_SMALL_MODEL, _SMALL_TOKENS, _MFU = 1e9, 20e9, 0.4


def _gpu_hours(flops: float, mfu: float = _MFU) -> float:
    return training_run(
        flops,
        n_accelerators=1,
        peak_flops_per_second=_H100.peak_bf16_flops_per_second,
        mfu=mfu,
        price_per_accelerator_hour=0.0,
    ).accelerator_hours


numeric(
    id="9.4",
    title="GPU-hours for a compute-optimal 1B model",
    chapter=1,
    question="A 1B-parameter model is trained on 20B tokens (20 per parameter) on H100s "
    "(989 TFLOP/s dense BF16) at 40% MFU. How many H100-hours does it take?",
    answer=lambda: _gpu_hours(training_flops(_SMALL_MODEL, _SMALL_TOKENS)),
    slips={
        "the time at 100% of peak; divide by the MFU, 0.4.": lambda: _gpu_hours(
            training_flops(_SMALL_MODEL, _SMALL_TOKENS), mfu=1.0
        ),
        "2·N·D, the forward pass only; training costs 6·N·D.": lambda: _gpu_hours(
            2 * _SMALL_MODEL * _SMALL_TOKENS
        ),
        "GPU-seconds; divide by 3600.": lambda: (
            3600 * _gpu_hours(training_flops(_SMALL_MODEL, _SMALL_TOKENS))
        ),
    },
    rel_tol=1e-2,
    unit="H100-hours",
    explanation="6·N·D = 1.2·10²⁰ FLOPs at 0.4 × 989 TFLOP/s: about 84 H100-hours, "
    "about $170 at an assumed $2 per GPU-hour.",
    hint="C = 6·N·D FLOPs; seconds = C / (peak × MFU).",
)

# --- chapter 2: scaling laws -------------------------------------------------------------------

_BUDGET = 1e23

multiple_choice(
    id="9.5",
    title="the 20x rule and the law's own optimum",
    chapter=2,
    question="The starter text splits every budget with 20 tokens per parameter. "
    "At C = 10²³ FLOPs, what does the `CHINCHILLA` law, with the constants Hoffmann et al. "
    "printed, call optimal?",
    options={
        "a": "exactly 20 tokens per parameter: the 20x rule was derived from this very law;",
        "b": "about 2 tokens per parameter, the ratio GPT-3 was trained at;",
        "c": "about 78 tokens per parameter; the 20x rule fits the `EPOCH_2024` refit;",
        "d": "it cannot say: the split depends on the accelerators' MFU.",
    },
    right="c",
    why_not={
        "a": "the rule comes from Chinchilla's own training and Approach 1; the printed constants' "
        "optimum moves with C because alpha > beta.",
        "b": "GPT-3's 2 tokens per parameter sit far below every frontier: under-trained.",
        "d": "MFU changes how long the FLOPs take, not how the law splits them between N and D.",
    },
    explanation=f"{CHINCHILLA.tokens_per_parameter(_BUDGET):.0f} tokens per parameter for "
    f"CHINCHILLA, {EPOCH_2024.tokens_per_parameter(_BUDGET):.0f} for EPOCH_2024: 20x is a "
    "good rule for the corrected law, not for the printed one.",
    hint="CHINCHILLA.tokens_per_parameter(1e23).",
)

numeric(
    id="9.6",
    title="the two terms at the optimum",
    chapter=2,
    question="At the compute-optimal point of the `CHINCHILLA` law (alpha = 0.34, beta = 0.28), "
    "how many times larger is the data term B/D^beta than the model term A/N^alpha?",
    answer=lambda: CHINCHILLA.alpha / CHINCHILLA.beta,
    slips={
        "beta / alpha: the ratio upside down.": lambda: CHINCHILLA.beta / CHINCHILLA.alpha,
        "equal terms; at the optimum their derivatives balance, not the terms.": lambda: 1.0,
    },
    rel_tol=1e-2,
    unit="",
    explanation="alpha/beta ≈ 1.21: setting the derivative to zero gives "
    "alpha·A/N^alpha = beta·B/D^beta, so the terms stand in the ratio beta : alpha, "
    "at every budget.",
    hint="set d/dN of A/N^alpha + B/(C/6N)^beta to zero and compare the two terms.",
)

_GROWTH = 100.0

numeric(
    id="9.7",
    title="how fast the model grows with compute",
    chapter=2,
    question="On the Chinchilla frontier N_opt grows as C^a with a = 0.5. By what factor "
    "should the model grow when the compute budget grows 100-fold?",
    answer=lambda: _GROWTH**0.5,
    slips={
        "Kaplan et al.'s a = 0.73; Chinchilla's frontier has a ≈ 0.5.": lambda: (
            _GROWTH**KAPLAN_PARAMS_EXPONENT
        ),
        "all of the compute going into the model (a = 1); the data must grow too.": lambda: _GROWTH,
    },
    rel_tol=1e-3,
    unit="x",
    explanation="100^0.5 = 10: ten times the parameters and ten times the tokens. Kaplan's "
    "0.73 would have made the model 29 times larger and the data only 3.5 times.",
    hint="the growth factor of N is (growth of C) ** a.",
)

multiple_choice(
    id="9.8",
    title="how far a fitted law can be trusted",
    chapter=2,
    question="Chapter 2 fitted a law to 90 simulated runs of up to 3·10²¹ FLOPs and "
    "bootstrapped the fit. What did the bootstrap say about the compute-optimal model size at "
    "10²⁴ FLOPs, 300 times beyond the runs?",
    options={
        "a": "it is pinned down to within 1%;",
        "b": "the refitted constants equal the true ones, so the extrapolation is exact;",
        "c": "the Huber loss makes the fit robust, so no bootstrap interval is needed;",
        "d": "it is known only to within roughly 90B to 140B (true: 96B);",
    },
    right="d",
    why_not={
        "a": "the 90% interval spanned about half the true value: extrapolation amplifies small "
        "uncertainties in the exponents.",
        "b": "the fitted A and alpha (and B and beta) were far from the true ones: they trade off "
        "against each other over the measured range.",
        "c": "the Huber loss guards against a few bad runs; it says nothing about how certain the "
        "fitted law is.",
    },
    explanation="a law that fits small runs well still extrapolates with a wide interval; "
    "a confidence interval belongs next to every fitted law.",
    hint="look at chapter 2's histogram of 100 bootstrap refits.",
)

# --- chapter 3: the architecture ---------------------------------------------------------------

multiple_choice(
    id="9.9",
    title="what RMSNorm is for",
    chapter=3,
    question="Llama-style models normalise the input of every attention and MLP sub-layer with "
    "RMSNorm. Which statement is right?",
    options={
        "a": "the normalisation only saves time: without it the model would train as well;",
        "b": "it keeps each sub-layer's input at a steady scale, as LayerNorm does, minus the "
        "centring;",
        "c": "RMSNorm subtracts the mean and divides by the standard deviation, as LayerNorm does;",
        "d": "RMSNorm has no learned parameters, which is where its speed comes from.",
    },
    right="b",
    why_not={
        "a": "the norm is what keeps training stable (Xiong et al. 2020 on pre-norm blocks); "
        "RMSNorm's saving comes from dropping the centring, not from normalising.",
        "c": "that is LayerNorm; RMSNorm divides by the root mean square and does not centre.",
        "d": "it learns a scale vector of d numbers (LayerNorm learns a scale and a shift).",
    },
    explanation="the starter text's 'for efficiency' is half the story: the rescaling is for "
    "stability, and RMSNorm gets it with one reduction instead of two.",
    hint="what is the difference between RMSNorm and LayerNorm, and what do both keep?",
)

multiple_choice(
    id="9.10",
    title="what Shazeer (2020) showed about SwiGLU",
    chapter=3,
    question="The starter text says SwiGLU gives 'better gradients'. What does the paper that "
    "introduced it actually report?",
    options={
        "a": "lower perplexity than ReLU or GELU MLPs at equal compute, measured but unexplained;",
        "b": "a proof that the gate improves the flow of gradients through deep networks;",
        "c": "fewer parameters than a GELU MLP of the same hidden width;",
        "d": "faster training steps, since the gate lets it skip the work for negative inputs.",
    },
    right="a",
    why_not={
        "b": "the paper proves nothing about gradients; it reports perplexities and explicitly "
        "offers no explanation.",
        "c": "three matrices instead of two: the width shrinks to 2/3 · 4d precisely so the "
        "parameters stay at 8·d².",
        "d": "by design it costs the same FLOPs per token; the gain is quality per FLOP.",
    },
    explanation="Table 1: 1.944 against the ReLU baseline's 1.997 log-perplexity after "
    "65,536 steps, an empirical result the paper attributes to 'divine benevolence'.",
    hint="what did Shazeer hold fixed when comparing the variants?",
)

_LLAMA2_HEAD_DIM, _LLAMA2_CONTEXT = 128, 4096


def _slowest_angle(head_dim: int = _LLAMA2_HEAD_DIM) -> float:
    return float(rope_frequencies(head_dim)[-1]) * (_LLAMA2_CONTEXT - 1)


numeric(
    id="9.11",
    title="how far RoPE's slowest pair turns",
    chapter=3,
    question="Llama 2 uses rotary embeddings with head_dim = 128 and theta = 10,000 and was "
    "trained on 4096-token sequences. By how many radians has its slowest pair turned at the "
    "last training position, 4095?",
    answer=_slowest_angle,
    slips={
        "the fastest pair (theta_0 = 1 radian per position); the slowest is the last one.": (
            lambda: float(_LLAMA2_CONTEXT - 1)
        ),
        "theta_64 = 10000^(-1); the last pair is i = 63, theta^(-126/128).": lambda: (
            (_LLAMA2_CONTEXT - 1) / 10_000
        ),
    },
    rel_tol=1e-3,
    unit="radians",
    explanation="about 0.47 radians, less than a tenth of a turn: beyond position 4095 this "
    "pair reaches angles the model never saw, which is why RoPE models need position "
    "interpolation or rescaled frequencies to read longer contexts.",
    hint="theta_i = 10000^(-2i/128) for i = 0 … 63 (rope_frequencies); angle = position × theta.",
)

# --- chapter 4: data ---------------------------------------------------------------------------

multiple_choice(
    id="9.12",
    title="why clean before deduplicating",
    chapter=4,
    question="In chapter 4, planted web mirrors looked only half to three quarters similar to "
    "their originals as crawled. Why does the pipeline clean lines before it deduplicates?",
    options={
        "a": "MinHash cannot summarise long documents, so pages must first be shortened;",
        "b": "near deduplication is exact only on cleaned text, approximate on raw pages;",
        "c": "cleaning strips the mirrors' frames; then they are above 0.93 similar;",
        "d": "the order makes no difference; cleaning first is only faster.",
    },
    right="c",
    why_not={
        "a": "MinHash summarises a shingle set of any size in a fixed-length signature.",
        "b": "MinHash and LSH are approximate either way; what changes is the similarity the "
        "boilerplate hid.",
        "d": "it does: on raw pages the frames dilute the shared text below the 0.8 threshold.",
    },
    explanation="after line cleaning the mirrors' Jaccard similarity rose above 0.93: "
    "boilerplate hides duplicates.",
    hint="compare the 'exact J' and 'cleaned' columns of chapter 4's MinHash table.",
)


@cache
def _share_removed() -> tuple[float, float]:
    """(share of bytes, share of documents) the chapter-4 pipeline removes."""
    corpus, kept = load_corpus(), clean_corpus()
    bytes_share = 1 - sum(d.n_bytes for d in kept) / sum(d.n_bytes for d in corpus)
    return bytes_share, 1 - len(kept) / len(corpus)


numeric(
    id="9.13",
    title="what the data pipeline removed",
    chapter=4,
    question="What fraction of the course corpus's bytes does chapter 4's pipeline (line "
    "cleaning, quality filters, exact and near deduplication) remove? Answer a fraction "
    "between 0 and 1.",
    answer=lambda: _share_removed()[0],
    slips={
        "the share of documents removed; the question asks for bytes.": lambda: _share_removed()[1],
        "a percentage; give a fraction between 0 and 1.": lambda: 100 * _share_removed()[0],
        "the share of bytes kept, not removed.": lambda: 1 - _share_removed()[0],
    },
    rel_tol=1e-2,
    unit="",
    explanation="about 16% of the bytes (8% of the documents): line cleaning removes "
    "boilerplate from pages it keeps, so bytes fall faster than documents.",
    hint="compare sum(d.n_bytes) over load_corpus() and over the last stage of run_pipeline().",
)

# --- chapter 5: training a tiny LLM ------------------------------------------------------------

_LOSS_NATS = 1.5

numeric(
    id="9.14",
    title="a loss in bits per character",
    chapter=5,
    question="A character-level model reaches a validation loss of 1.5 nats per character. "
    "What is that in bits per character?",
    answer=lambda: bits_per_character(_LOSS_NATS),
    slips={
        "1.5 multiplied by ln 2; to turn nats into bits, divide by ln 2.": lambda: (
            _LOSS_NATS * math.log(2)
        ),
        "a conversion to base-10 digits (divided by ln 10); bits are base 2.": lambda: (
            _LOSS_NATS / math.log(10)
        ),
        "the loss still in nats; a bit is ln 2 ≈ 0.693 nats.": lambda: _LOSS_NATS,
    },
    rel_tol=1e-3,
    unit="bits per character",
    explanation="1.5 / ln 2 ≈ 2.16 bits per character: far below the unigram model's 4.6 and "
    "the uniform guess's 7.4 on the course corpus, far above people's 0.6–1.3 (Shannon 1951).",
    hint="one bit is ln 2 nats; for a character model a token is a character.",
)

multiple_choice(
    id="9.15",
    title="reading a mini isoFLOP study",
    chapter=5,
    question="In a first attempt at chapter 5's mini isoFLOP study, the smallest model tried had "
    "the lowest loss at every compute budget. What does that tell you?",
    options={
        "a": "at a fixed budget, the smaller the model the better, without limit;",
        "b": "a scaling law cannot describe character-level models at all;",
        "c": "the larger models should have won, since they have more parameters to learn with;",
        "d": "the best size lies at or below the smallest size tried: the runs do not bracket it.",
    },
    right="d",
    why_not={
        "a": "a model too small for its budget is limited by its size (the A/N^alpha term); the "
        "minimum just lies below the sizes tried.",
        "b": "chapter 2's law, with positive exponents, can fit such runs within a few percent; "
        "what is missing are runs on both sides of the minimum.",
        "c": "at a fixed budget a larger model gets fewer tokens (D = C / 6N); with too few "
        "tokens, the data term costs more than the extra parameters save.",
    },
    explanation="an isoFLOP profile must show a minimum between its runs before it locates "
    "the optimum; chapter 5's study adds smaller models until every budget brackets it, and "
    "Chinchilla used hundreds of runs over a wide range of sizes for that.",
    hint="what would the profile look like if the optimum lay inside the range of sizes tried?",
)

multiple_choice(
    id="9.16",
    title="what a checkpoint must hold",
    chapter=5,
    question="Which checkpoint lets an interrupted training run continue exactly as if it had "
    "never stopped?",
    options={
        "a": "weights, config, tokenizer, AdamW's moments, the random states and the step;",
        "b": "the model's weights, saved with `torch.save(model.state_dict())`;",
        "c": "the weights, the `ModelConfig` and the tokenizer, enough to rebuild the model;",
        "d": "a pickle of the whole `Trainer` object, loaded back with `torch.load(path)`.",
    },
    right="a",
    why_not={
        "b": "without the optimizer's moments and the step, the run restarts its warm-up with "
        "empty averages, and without config and tokenizer the weights cannot even be used.",
        "c": "enough to use the model, not to continue training it: AdamW's moments, the step "
        "(which sets the learning rate) and the data sampler's random state are lost.",
        "d": "unpickling can run arbitrary code; chapter 5 stores state dicts and JSON and loads "
        "with weights_only=True, which holds everything needed without that risk.",
    },
    explanation="with the full trainer state, a resumed run computes the same losses as an "
    "uninterrupted one (bit for bit on a CPU, as chapter 5's tests check).",
    hint="list everything that changes from one training step to the next.",
)

multiple_choice(
    id="9.17",
    title="what FSDP keeps",
    chapter=6,
    question="Training with ZeRO stage 3 (PyTorch's FSDP) on N GPUs, what does each GPU keep "
    "between the layers it computes?",
    options={
        "a": "all weights, and 1/N of the gradients and optimizer states;",
        "b": "all weights and gradients, and 1/N of the optimizer states;",
        "c": "1/N each of the weights, gradients and optimizer states;",
        "d": "1/N of the optimizer states, the rest offloaded to the CPU.",
    },
    right="c",
    why_not={
        "a": "that is stage 2: the 16-bit weights stay whole on every GPU.",
        "b": "that is stage 1 (ZeroRedundancyOptimizer): only the optimizer states are split.",
        "d": "that is CPU offloading, a different technique; stage 3 keeps its shards on the GPU.",
    },
    explanation="stage 3 partitions all three: (2 + 2 + 12)·Ψ/N bytes per GPU in mixed "
    "precision; each layer's weights are all-gathered just before it computes and freed after.",
    hint="stage 1 splits the optimizer states, stage 2 also the gradients; what does stage 3 add?",
)

numeric(
    id="9.18",
    title="the bytes of an all-reduce",
    chapter=6,
    question="A 7-billion-parameter model is trained with plain data parallelism (DDP) on 8 GPUs; "
    "its bf16 gradients are summed with a ring all-reduce every step. How many GB does each GPU "
    "send per step?",
    answer=lambda: 2 * (8 - 1) / 8 * 2 * 7e9 / 1e9,
    slips={
        "the second half of the ring (all-gather after reduce-scatter)": lambda: (
            (8 - 1) / 8 * 2 * 7e9 / 1e9
        ),
        "bf16 is 2 bytes per gradient, not 4": lambda: 2 * (8 - 1) / 8 * 4 * 7e9 / 1e9,
    },
    rel_tol=1e-3,
    unit="GB",
    explanation="24.5 GB: a ring all-reduce sends 2·(N−1)/N of the 14 GB message from every "
    "GPU, almost twice the gradients, whatever the number of GPUs.",
    hint="reduce-scatter then all-gather, each sending (N−1)/N of the message; 2 bytes per "
    "parameter.",
)

multiple_choice(
    id="9.19",
    title="two ranks on a laptop",
    chapter=6,
    question="Chapter 6 trained the chapter-5 model on two gloo ranks on a two-core laptop. Why "
    "was it no faster than one process?",
    options={
        "a": "gloo rounds the gradients, so the run needs more steps;",
        "b": "both ranks share the two cores and also exchange data;",
        "c": "each rank computes the whole batch, so the work doubles;",
        "d": "FSDP reloads the whole model from disk at every single step.",
    },
    right="b",
    why_not={
        "a": "the measured losses equal one process's to float rounding: no extra steps.",
        "c": "each rank computes only its slice of the global batch: the work is split.",
        "d": "FSDP all-gathers shards between processes in memory; nothing is read from disk.",
    },
    explanation="the work is split, but two processes on two cores get no more compute than "
    "one, and they add communication; the lessons are memory and communication, which a "
    "cluster turns into speed.",
    hint="what does a second process on the same two cores add, and what does it cost?",
)

multiple_choice(
    id="9.20",
    title="what a mixture of experts makes bigger",
    chapter=7,
    question="Mixtral 8x7B is Mistral 7B with each MLP replaced by 8 experts, 2 used per token. "
    "Compared with Mistral 7B, what grows by the largest factor?",
    options={
        "a": "the forward FLOPs per token, about six times;",
        "b": "the KV cache held per token, about six times;",
        "c": "the attention FLOPs per token, about two times;",
        "d": "the weights held in memory, about six times.",
    },
    right="d",
    why_not={
        "a": "a token runs 2 of the 8 experts: the MLP's FLOPs double and nothing else grows, so "
        "the forward pass costs about 1.8 times Mistral's.",
        "b": "the cache holds the attention's keys and values, which Mixtral leaves as they are: "
        "the same size as Mistral's.",
        "c": "attention is unchanged; only the feed-forward part is routed.",
    },
    explanation="all 8 experts must be resident: 46.7B parameters (93 GB in bf16) against "
    "Mistral's 7.2B, while each token uses 12.9B.",
    hint="which of memory, compute and cache follows the total count, and which the active one?",
)

numeric(
    id="9.21",
    title="the experts one token uses",
    chapter=7,
    question="Qwen3-30B-A3B has 48 layers of width 2048; each holds 128 SwiGLU experts 768 wide "
    "and routes a token to 8 of them. How many billion expert weights does one token use, "
    "over all layers (routed experts only, no router)?",
    answer=lambda: 48 * 8 * 3 * 2048 * 768 / 1e9,
    slips={
        "every expert of every layer; a token uses 8 of the 128.": (
            lambda: 48 * 128 * 3 * 2048 * 768 / 1e9
        ),
        "two matrices per expert; SwiGLU has three (gate, up, down).": (
            lambda: 48 * 8 * 2 * 2048 * 768 / 1e9
        ),
        "one layer only; multiply by the 48 layers.": lambda: 8 * 3 * 2048 * 768 / 1e9,
    },
    rel_tol=1e-3,
    unit="B",
    explanation="48 x 8 x 3 x 2048 x 768 = 1.81B of the model's 28.99B expert weights: about 6%.",
    hint="an expert is three 2048 x 768 matrices; count 8 experts per layer, 48 layers.",
)

multiple_choice(
    id="9.22",
    title="training a mixture of experts without the balancing loss",
    chapter=7,
    question="You train chapter 7's small MoE with aux_loss_weight=0. What does the heat map of "
    "tokens per expert show after a few dozen steps?",
    options={
        "a": "a few experts take most of the tokens, the others almost none;",
        "b": "every expert still gets about 1/8 of the tokens, as at the start;",
        "c": "training stops: top-k selection has no gradient without it;",
        "d": "all experts run for every token, as in a dense model.",
    },
    right="a",
    why_not={
        "b": "nothing in the language-model loss asks for balance; experts that get slightly "
        "better early receive more tokens and get better still.",
        "c": "the chosen experts' weights (the router probabilities) carry the gradient; the "
        "balancing loss only adds a push towards even use.",
        "d": "the loss's weight does not change top-k routing: each token still runs k experts.",
    },
    explanation="the routing collapses onto a few experts; the Switch Transformer loss "
    "(Fedus et al. 2022, eq. 4) keeps the shares near 1/E.",
    hint="what rewards an expert that receives many tokens, and what penalises it?",
)

multiple_choice(
    id="9.23",
    title="fewer steps, slower steps",
    chapter=8,
    question="Recipe B reaches the target loss in 40% fewer steps than recipe A, but each of its "
    "steps takes 1.5 times as long. Compared with A, B's time to the target is:",
    options={
        "a": "40% shorter, as its training curve plotted against steps shows;",
        "b": "10% shorter: 0.6 of the steps at 1.5 times the seconds each;",
        "c": "50% longer, since every one of its steps costs 1.5 times more;",
        "d": "the same: fewer steps and slower steps cancel each other out;",
    },
    right="b",
    why_not={
        "a": "steps are not what the learner pays: each of B's steps takes 1.5 times as long.",
        "c": "B also takes fewer steps: 0.6 of them.",
        "d": "0.6 x 1.5 = 0.9, not 1: they do not cancel.",
    },
    explanation="0.6 x 1.5 = 0.9 of A's time: a 10% saving, far from the 40% the steps suggest. "
    "Chapter 8 judges recipes by seconds to a target, with steps beside them.",
    hint="time to target = steps to target x seconds per step.",
)

multiple_choice(
    id="9.24",
    title="a gain inside the noise",
    chapter=8,
    question="Over 3 paired seeds, the 95% t-interval of (new recipe - baseline) validation loss "
    "is [-0.021, +0.006] nats; the median difference is -0.009. What does chapter 8 conclude?",
    options={
        "a": "the new recipe is better: its median difference is below 0;",
        "b": "the new recipe is worse: the interval reaches above zero;",
        "c": "no measurable difference: the interval contains zero;",
        "d": "better by 0.009 nats, with 95% confidence in that gain;",
    },
    right="c",
    why_not={
        "a": "the median alone ignores the seed-to-seed spread: with 3 seeds, a difference of "
        "this size is within what chance produces.",
        "b": "the interval also reaches below zero: the data support neither direction.",
        "d": "a 95% interval that contains 0 gives no confidence in any gain.",
    },
    explanation="the verdict follows the paired interval: it contains 0, so the seeds do not "
    "support a difference either way (more seeds would narrow it).",
    hint="which numbers does the harness's verdict look at: the median, or the interval?",
)

numeric(
    id="9.25",
    title="Muon's overhead at a big batch",
    chapter=8,
    question="Muon's T = 5 Newton-Schulz iterations add about T·m/B to the training FLOPs of a "
    "square m x m weight matrix, for B tokens a step. For m = 128 at 16 x 1,024 = 16,384 "
    "tokens a step, what fraction is that?",
    answer=lambda: 5 * 128 / 16_384,
    slips={
        "that is nanoGPT's 768-token batch; this one has 16,384 tokens a step.": (
            lambda: 5 * 128 / 768
        ),
        "that is one iteration; Muon runs T = 5 of them.": lambda: 128 / 16_384,
        "T·m/B is already the fraction; do not multiply by 100 (that is a percentage).": (
            lambda: 100 * 5 * 128 / 16_384
        ),
    },
    rel_tol=0.02,
    unit="",
    explanation="5 x 128 / 16,384 = 0.039, about 4%, against 83% at 768 tokens: Muon's cost "
    "shrinks as the batch grows, which is why the speedruns' half-million-token batches pay "
    "almost nothing for it.",
    hint="put T = 5, m = 128 and B = 16,384 into T·m/B.",
)
