"""course_utils: the tested implementations behind the LLM Foundations notebooks.

Importing the package has no side effects: it seeds nothing, prints nothing and
downloads nothing. Each chapter's public names are re-exported here.
"""

from course_utils.checkpoints import load_checkpoint, resume_trainer, save_checkpoint
from course_utils.compute import (
    ACCELERATORS,
    forward_flops_per_token,
    training_flops,
    training_run,
)
from course_utils.config import ModelConfig
from course_utils.corpus import load_corpus
from course_utils.course import CHAPTERS, chapter_table
from course_utils.data_mix import (
    PUBLISHED_MIXES,
    TRAINING_DATA_MIX,
    calculate_tokens_needed,
    epochs_per_source,
    sample_sources,
    temperature_weights,
    tokens_per_source,
)
from course_utils.dedup import MinHasher, exact_duplicates, find_near_duplicates, jaccard
from course_utils.environment import (
    best_device,
    environment_report,
    quick_mode,
    set_seed,
    setup_notebook,
)
from course_utils.exercises import check
from course_utils.experiments import (
    describe_study_fit,
    fit_isoflop_study,
    isoflop_minima,
    measurements,
    model_family,
    plan_isoflop_runs,
    plot_isoflop_study,
    run_isoflop_study,
    runs_table,
)
from course_utils.generation import generate, generate_text, known_word_fraction
from course_utils.layers import RMSNorm, causal_mask
from course_utils.memory import (
    activation_bytes,
    kv_cache_bytes,
    serving_memory,
    training_memory,
    weight_bytes,
)
from course_utils.model import DecoderLM, LLMBlock
from course_utils.moe import MoEFeedForward, load_balancing_loss, route, router_z_loss
from course_utils.parameters import (
    count_parameters,
    estimate_parameters,
    non_embedding_parameters,
    parameter_breakdown,
)
from course_utils.pipeline import run_pipeline, training_text
from course_utils.presets import MOE_PRESETS, PRESETS
from course_utils.quality import quality_filter
from course_utils.recipes import (
    BEST_RECIPE_OPTIONS,
    RECIPE_OPTIONS,
    Recipe,
    RecipeOption,
    best_recipe,
    nanogpt_baseline,
    recipe_trainer,
    with_options,
)
from course_utils.scaling import (
    CHINCHILLA,
    EPOCH_2024,
    KAPLAN_JOINT,
    KAPLAN_SINGLE_VARIABLE,
    ScalingLaws,
    frontier_positions,
    inference_aware_allocation,
    isoflop_profile,
)
from course_utils.scaling_fit import (
    bootstrap_scaling_law,
    fit_scaling_law,
    synthetic_measurements,
)
from course_utils.tokenizer import BPETokenizer, CharTokenizer
from course_utils.training import (
    Trainer,
    TrainingConfig,
    bits_per_character,
    learning_rate_at,
    split_tokens,
    tokens_from_file,
    unigram_loss,
)

__version__ = "0.1.0"

__all__ = [
    # chapter 0: the course itself
    "CHAPTERS",
    "best_device",
    "chapter_table",
    "check",
    "environment_report",
    "set_seed",
    "setup_notebook",
    # chapter 1: what makes a model large
    "ACCELERATORS",
    "PRESETS",
    "ModelConfig",
    "activation_bytes",
    "count_parameters",
    "estimate_parameters",
    "forward_flops_per_token",
    "kv_cache_bytes",
    "non_embedding_parameters",
    "parameter_breakdown",
    "serving_memory",
    "training_flops",
    "training_memory",
    "training_run",
    "weight_bytes",
    # chapter 2: scaling laws
    "CHINCHILLA",
    "EPOCH_2024",
    "KAPLAN_JOINT",
    "KAPLAN_SINGLE_VARIABLE",
    "ScalingLaws",
    "bootstrap_scaling_law",
    "fit_scaling_law",
    "frontier_positions",
    "inference_aware_allocation",
    "isoflop_profile",
    "synthetic_measurements",
    # chapter 3: the decoder-only transformer
    "DecoderLM",
    "LLMBlock",
    "RMSNorm",
    "causal_mask",
    "generate",
    # chapter 4: training data
    "BPETokenizer",
    "MinHasher",
    "PUBLISHED_MIXES",
    "TRAINING_DATA_MIX",
    "calculate_tokens_needed",
    "epochs_per_source",
    "exact_duplicates",
    "find_near_duplicates",
    "jaccard",
    "load_corpus",
    "quality_filter",
    "run_pipeline",
    "sample_sources",
    "temperature_weights",
    "tokens_per_source",
    "training_text",
    # chapter 5: training a tiny LLM
    "CharTokenizer",
    "Trainer",
    "TrainingConfig",
    "bits_per_character",
    "generate_text",
    "describe_study_fit",
    "fit_isoflop_study",
    "isoflop_minima",
    "measurements",
    "known_word_fraction",
    "learning_rate_at",
    "load_checkpoint",
    "model_family",
    "plan_isoflop_runs",
    "plot_isoflop_study",
    "quick_mode",
    "resume_trainer",
    "run_isoflop_study",
    "runs_table",
    "save_checkpoint",
    "split_tokens",
    "tokens_from_file",
    "unigram_loss",
    # chapter 8: training recipes
    "BEST_RECIPE_OPTIONS",
    "RECIPE_OPTIONS",
    "Recipe",
    "RecipeOption",
    "best_recipe",
    "nanogpt_baseline",
    "recipe_trainer",
    "with_options",
    # chapter 7: mixture of experts
    "MOE_PRESETS",
    "MoEFeedForward",
    "load_balancing_loss",
    "route",
    "router_z_loss",
]
