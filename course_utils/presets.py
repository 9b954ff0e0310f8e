"""Real models as :class:`ModelConfig` objects beside their published sizes (chapter 1).

Each :class:`Preset` holds the shape of a published model, the parameter count as its source
prints it (``published_as``, e.g. ``"124M"`` or ``"6,738,415,616"``), where that comes from,
and, where the paper states it, how many tokens the model was trained on (chapter 2 places
these models on the compute-optimal frontier).

Three families are reproduced exactly (to the printed precision): GPT-2, Llama and Mistral.
Three are not, and each says why in its ``note``: GPT-3 175B (0.2% below the paper's figure),
and Gopher and Chinchilla, whose relative position encoding carries parameters that
:class:`ModelConfig` does not model (:func:`relative_position_parameters` accounts for them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from course_utils.checks import instance_of, number_in_range, positive_number
from course_utils.config import ModelConfig
from course_utils.parameters import estimate_parameters

_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
_COUNT = re.compile(r"(\d[\d,]*)(?:\.(\d+))?\s*([KMBT]?)")


def parse_count(text: str) -> tuple[int, int]:
    """A printed parameter count and the unit of its last digit (chapter 1).

    ``"175.0B"`` → (175_000_000_000, 100_000_000); ``"124M"`` → (124_000_000, 1_000_000).

    Accepts plain integers with or without thousands separators (``"6,738,415,616"``, exact:
    unit 1) and numbers with a K/M/B/T suffix (``"124M"``: unit 10**6).
    """
    match = _COUNT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"text must be a count such as '124M', '175.0B' or '6,738,415,616'; got {text!r}"
        )
    whole, decimals, suffix = match.group(1).replace(",", ""), match.group(2) or "", match.group(3)
    scale = _SUFFIXES[suffix]
    unit = scale // 10 ** len(decimals)
    if unit == 0:
        raise ValueError(f"text has more decimals than its suffix allows: {text!r}")
    return int(whole + decimals) * unit, unit


@dataclass(frozen=True)
class Preset:
    """A published model: its shape, its published size and their sources (chapter 1).

    ``published_as`` is the parameter count exactly as the source prints it; ``max_gap`` the
    largest relative difference between :attr:`estimated_params` and :attr:`published_params`
    we accept. By default that is half a unit of the printed last digit (``"124M"``: ±0.5M);
    presets whose architecture ``ModelConfig`` only approximates set it wider and say why in
    ``note``.
    """

    name: str
    config: ModelConfig
    published_as: str
    source: str
    note: str = ""
    max_gap: float | None = None
    training_tokens: float | None = None
    tokens_source: str = ""
    published_active_as: str = ""  # a mixture of experts' published active count (chapter 7)
    max_active_gap: float | None = None

    def __post_init__(self) -> None:
        parse_count(self.published_as)  # fail early on a malformed count
        if self.published_active_as:
            parse_count(self.published_active_as)
            if not self.config.is_moe:
                raise ValueError("published_active_as is for mixture-of-experts presets only")
        if self.max_gap is not None:
            number_in_range("max_gap", self.max_gap, 0, 1, include_high=False)
        if self.training_tokens is not None:
            positive_number("training_tokens", self.training_tokens)
        if (self.training_tokens is None) != (not self.tokens_source):
            raise ValueError("give training_tokens together with its tokens_source")

    @property
    def published_params(self) -> int:
        """The published count as an integer (``"124M"`` → 124_000_000)."""
        return parse_count(self.published_as)[0]

    @property
    def rounding_unit(self) -> int:
        """The unit of the published count's last printed digit (1 when it is exact)."""
        return parse_count(self.published_as)[1]

    @property
    def estimated_params(self) -> int:
        """``estimate_parameters(self.config)``: the count computed from the shape."""
        return estimate_parameters(self.config)

    @property
    def estimated_active_params(self) -> int:
        """``estimate_parameters(self.config, active=True)``: what one token uses (chapter 7)."""
        return estimate_parameters(self.config, active=True)

    @property
    def published_active_params(self) -> int | None:
        """The published active count as an integer, or ``None`` if none is published."""
        return parse_count(self.published_active_as)[0] if self.published_active_as else None

    @property
    def active_gap(self) -> float:
        """Relative difference of the active counts, (estimated − published) / published."""
        if not self.published_active_as:
            raise ValueError(f"{self.name} has no published active parameter count")
        published = self.published_active_params
        return (self.estimated_active_params - published) / published

    @property
    def allowed_active_gap(self) -> float:
        """Half a unit of the published active count's last printed digit, relative to it."""
        if not self.published_active_as:
            raise ValueError(f"{self.name} has no published active parameter count")
        if self.max_active_gap is not None:
            return self.max_active_gap
        count, unit = parse_count(self.published_active_as)
        return unit / 2 / count

    @property
    def gap(self) -> float:
        """Relative difference (estimated − published) / published."""
        return (self.estimated_params - self.published_params) / self.published_params

    @property
    def allowed_gap(self) -> float:
        """``max_gap`` if set, else half a rounding unit relative to the published count."""
        if self.max_gap is not None:
            return self.max_gap
        return self.rounding_unit / 2 / self.published_params


def relative_position_parameters(config: ModelConfig) -> int:
    """Weights a Transformer-XL relative position encoding adds to ``config`` (chapter 1).

    Dai et al. (2019), section 3.3: each layer projects the sinusoidal relative position
    encodings with a matrix W_k,R (d_model × n_heads·head_dim) and learns two vectors u and v
    (n_heads·head_dim each). Gopher and Chinchilla use this scheme; :class:`ModelConfig`
    stands in rotary embeddings, which have no parameters, so this is what their presets miss.
    """
    instance_of("config", config, ModelConfig)
    width = config.n_heads * config.head_dim
    return config.n_layers * (config.d_model * width + 2 * width)


def qk_norm_parameters(config: ModelConfig, per_head: bool) -> int:
    """Weights of the RMSNorms that Qwen3 and OLMoE apply to queries and keys (chapter 7).

    Qwen3 normalises each head's query and key with one head_dim-wide RMSNorm shared by the
    heads (``per_head=True``: 2·head_dim per layer); OLMoE normalises the whole query and key
    projections (Muennighoff et al. 2024, section 2: "QK-Norm"; n_heads·head_dim +
    n_kv_heads·head_dim per layer). :class:`ModelConfig` does not model QK-norm, so the two
    presets count this many fewer parameters than the real models (under 0.001%).
    """
    instance_of("config", config, ModelConfig)
    if per_head:
        return config.n_layers * 2 * config.head_dim
    return config.n_layers * (config.n_heads + config.n_kv_heads) * config.head_dim


_QK_NORM_NOTE = (
    "The real model also normalises queries and keys (QK-norm), {missing:,} weights that "
    "ModelConfig does not model (qk_norm_parameters adds them back; with them the count "
    "equals transformers' {cls} to the parameter)."
)


def _moe_presets() -> list[Preset]:
    mixtral = {"vocab_size": 32_000, "n_kv_heads": 8, "rope_theta": 1e6, "norm_eps": 1e-5}
    qwen3 = ModelConfig(
        vocab_size=151_936, d_model=2048, n_layers=48, n_heads=32, n_kv_heads=4, head_dim=128,
        max_seq_len=40_960, rope_theta=1e6, norm_eps=1e-6, n_experts=128,
        experts_per_token=8, d_expert=768, d_ff=6144,
    )  # fmt: skip
    olmoe = ModelConfig(
        vocab_size=50_304, d_model=2048, n_layers=16, n_heads=16, max_seq_len=4096,
        norm_eps=1e-5, n_experts=64, experts_per_token=8, d_expert=1024, d_ff=1024,
        normalize_top_k=False,
    )  # fmt: skip
    return [
        Preset(
            "mixtral-8x7b",
            ModelConfig(
                d_model=4096,
                n_layers=32,
                n_heads=32,
                d_ff=14_336,
                max_seq_len=32_768,
                n_experts=8,
                experts_per_token=2,
                **mixtral,
            ),  # fmt: skip
            "47B",
            "Jiang et al. 2024 (Mixtral of Experts), Table 1 (dim 4096, 32 layers, head_dim "
            "128, hidden 14336, 32 heads, 8 kv heads, context 32768, vocab 32000, 8 experts, "
            "top 2) and section 2: 'each token has access to 47B parameters, but only uses 13B "
            "active parameters'.",
            published_active_as="13B",
        ),
        Preset(
            "mixtral-8x22b",
            ModelConfig(
                d_model=6144,
                n_layers=56,
                n_heads=48,
                d_ff=16_384,
                max_seq_len=65_536,
                n_experts=8,
                experts_per_token=2,
                **mixtral,
            ),  # fmt: skip
            "141B",
            "Shape: Hugging Face config.json of mistralai/Mixtral-8x22B-v0.1 (hidden 6144, 56 "
            "layers, 48 heads, 8 kv heads, intermediate 16384, 8 experts, top 2, vocab 32000). "
            "Size: Mistral AI's announcement 'Cheaper, Better, Faster, Stronger' (April 2024): "
            "39B active parameters out of 141B.",
            published_active_as="39B",
        ),
        Preset(
            "qwen3-30b-a3b",
            qwen3,
            "30.5B",
            "Yang et al. 2025 (Qwen3 Technical Report), Table 2 (48 layers, 32 query and 4 kv "
            "heads, 128 experts, 8 activated, no shared experts); Hugging Face model card and "
            "config.json of Qwen/Qwen3-30B-A3B (hidden 2048, head_dim 128, moe_intermediate_size "
            "768, vocab 151936, untied, norm_topk_prob true): 30.5B in total, 3.3B activated.",
            note=_QK_NORM_NOTE.format(
                missing=qk_norm_parameters(qwen3, per_head=True), cls="Qwen3MoeForCausalLM"
            )
            + " The shape gives 3.35B active parameters; the card's 3.3B is cut, not rounded.",
            published_active_as="3.3B",
            max_active_gap=0.02,
        ),
        Preset(
            "olmoe-1b-7b",
            olmoe,
            "6.9B",
            "Muennighoff et al. 2024 (OLMoE): 6.9B total and 1.3B active parameters (the "
            "abstract rounds them to 7B and 1B); shape from the Hugging Face config.json of "
            "allenai/OLMoE-1B-7B-0924 (16 layers, hidden 2048, 16 heads, 64 experts, 8 per "
            "token, intermediate 1024, vocab 50304, norm_topk_prob false, untied, context 4096).",
            note=_QK_NORM_NOTE.format(
                missing=qk_norm_parameters(olmoe, per_head=False), cls="OlmoeForCausalLM"
            ),
            published_active_as="1.3B",
        ),
    ]


_GPT2 = {
    "vocab_size": 50_257,
    "max_seq_len": 1024,
    "norm": "layernorm",
    "mlp": "gelu",
    "pos_embedding": "learned",
    "tie_embeddings": True,
    "bias": True,
    "norm_eps": 1e-5,
}
_GPT2_SOURCE = (
    "Shape: Hugging Face config.json of openai-community/{repo} (n_layer={n_layers}, "
    "n_embd={d_model}, n_head={n_heads}, vocab 50257, context 1024). Size: the model name in "
    "OpenAI's gpt-2 repository (README: 124M, 355M, 774M, 1558M), which corrects the "
    "paper's count (Radford et al. 2019, Table 2: {paper})."
)
_GPT2_NOTE = (
    "The GPT-2 paper's Table 2 printed smaller counts; OpenAI's repository README notes they "
    "were wrong due to an error and renamed the models."
)

# Gopher and Chinchilla: Radford et al. (2019)'s architecture with RMSNorm and Transformer-XL
# relative positions (Rae et al. 2021, section 3.1), a 32,000-token SentencePiece vocabulary
# (same section), feed-forward width 4·d_model and a 2048-token context (Table 1 caption;
# section 3.2). We keep GPT-2's biases (less than 0.01% of the count).
_DEEPMIND = {
    "vocab_size": 32_000,
    "max_seq_len": 2048,
    "norm": "rmsnorm",
    "mlp": "gelu",
    # Stand-in: ModelConfig has no relative position kind. Rotary embeddings are the
    # closest parameter-free choice; the missing Transformer-XL projections are counted by
    # relative_position_parameters() and explain the presets' gap to the published size.
    "pos_embedding": "rope",
    # Not stated in the papers; one shared embedding matrix is the only choice consistent
    # with all six sizes in Gopher's Table 1 (an untied head would make "44M" 60M).
    "tie_embeddings": True,
    "bias": True,
}
_DEEPMIND_NOTE = (
    "Gopher and Chinchilla use Transformer-XL relative position encodings (Rae et al. 2021, "
    "section 3.1), whose projection adds about d_model² weights per layer. This preset stands "
    "in parameter-free rotary embeddings, so it counts {missing:.1f}B fewer parameters than the "
    "real model ({gap:.1%} below the published size). Adding relative_position_parameters() "
    "reproduces the published size, as it does for every size in Gopher's Table 1. This is "
    "our reconstruction: the papers print no breakdown."
)


def _gpt2(repo: str, n_layers: int, d_model: int, n_heads: int, size: str, paper: str) -> Preset:
    config = ModelConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads, **_GPT2)
    source = _GPT2_SOURCE.format(
        repo=repo, n_layers=n_layers, d_model=d_model, n_heads=n_heads, paper=paper
    )
    return Preset(repo, config, size, source, note=_GPT2_NOTE)


def _deepmind(name: str, config: ModelConfig, size: str, source: str, **tokens) -> Preset:
    missing = relative_position_parameters(config)
    published = parse_count(size)[0]
    gap = (estimate_parameters(config) - published) / published
    note = _DEEPMIND_NOTE.format(missing=missing / 1e9, gap=-gap)
    return Preset(name, config, size, source, note=note, max_gap=0.08, **tokens)


def _build_presets() -> dict[str, Preset]:
    presets = [
        _gpt2("gpt2", 12, 768, 12, "124M", "117M"),
        _gpt2("gpt2-medium", 24, 1024, 16, "355M", "345M"),
        _gpt2("gpt2-large", 36, 1280, 20, "774M", "762M"),
        _gpt2("gpt2-xl", 48, 1600, 25, "1558M", "1542M"),
        Preset(
            "gpt3-175b",
            ModelConfig(
                d_model=12_288,
                n_layers=96,
                n_heads=96,
                **{**_GPT2, "max_seq_len": 2048},
            ),
            "175.0B",
            "Brown et al. 2020, Table 2.1 (n_params 175.0B, n_layers 96, d_model 12288, "
            "n_heads 96, d_head 128, context 2048) and section 2.1 (d_ff = 4·d_model; GPT-2's "
            "architecture and tokenization, hence its 50,257-token vocabulary).",
            note=(
                "The shapes in Table 2.1 give 174.6B, 0.2% below the printed 175.0B; the paper "
                "does not say how it counted. Of its other sizes, Small (125.2M), Large "
                "(760.3M), 2.7B (2.65B) and 6.7B (6.66B) match to the printed digit; Medium "
                "gives 355.9M against the printed 350M; XL's 24 heads × d_head 128 = 3,072 is "
                "not its d_model of 2,048 (1.52B as printed, 1.32B with an attention width of "
                "2,048, which the printed 1.3B needs); 13.0B gives 12.85B with d_model 5,120 "
                "and 12.94B with the table's 5,140, neither the printed digit. GPT-3's "
                "alternating sparse attention layers change compute, not parameters."
            ),
            max_gap=0.003,
            training_tokens=300e9,
            tokens_source="Brown et al. 2020, Table 2.1 caption and section 2.2: 300B tokens.",
        ),
        _deepmind(
            "gopher-280b",
            ModelConfig(d_model=16_384, n_layers=80, n_heads=128, head_dim=128, **_DEEPMIND),
            "280B",
            "Rae et al. 2021 (Gopher), Table 1: 80 layers, 128 heads, key/value size 128, "
            "d_model 16,384; feed-forward 4·d_model; section 3.1: RMSNorm, relative positions, "
            "32,000-token vocabulary.",
            training_tokens=300e9,
            tokens_source="Rae et al. 2021, section 3.2 (all models trained for 300B tokens); "
            "Hoffmann et al. 2022, Table 1.",
        ),
        _deepmind(
            "chinchilla-70b",
            ModelConfig(d_model=8192, n_layers=80, n_heads=64, head_dim=128, **_DEEPMIND),
            "70B",
            "Hoffmann et al. 2022 (Chinchilla), Table 4: 80 layers, 64 heads, key/value size "
            "128, d_model 8,192, feed-forward 4·d_model; section 4.1: Gopher's architecture and "
            "a vocabulary very similar to Gopher's (we use its 32,000 tokens).",
            training_tokens=1.4e12,
            tokens_source="Hoffmann et al. 2022, Table 1 and section 4.1: 1.4T tokens.",
        ),
        Preset(
            "llama-2-7b",
            ModelConfig(
                vocab_size=32_000,
                d_model=4096,
                n_layers=32,
                n_heads=32,
                d_ff=11_008,
                max_seq_len=4096,
                norm_eps=1e-5,
                rope_theta=10_000.0,
            ),
            "6,738,415,616",
            "Hugging Face checkpoint meta-llama/Llama-2-7b-hf: shape from its config.json "
            "(hidden 4096, 32 layers, 32 heads, intermediate 11008, vocab 32000, untied head), "
            "count from its safetensors metadata (the model page's 6.74B). Touvron et al. 2023 "
            "(Llama 2), Table 1, calls it 7B.",
            training_tokens=2.0e12,
            tokens_source="Touvron et al. 2023 (Llama 2), Table 1: 2.0T tokens.",
        ),
        Preset(
            "llama-3-8b",
            ModelConfig(
                vocab_size=128_256,
                d_model=4096,
                n_layers=32,
                n_heads=32,
                n_kv_heads=8,
                d_ff=14_336,
                max_seq_len=8192,
                norm_eps=1e-5,
                rope_theta=500_000.0,
            ),
            "8,030,261,248",
            "Hugging Face checkpoint meta-llama/Meta-Llama-3-8B: shape from its config.json "
            "(hidden 4096, 32 layers, 32 heads, 8 key/value heads, intermediate 14336, vocab "
            "128256, rope_theta 500000), count from its safetensors metadata (8.03B).",
            training_tokens=15e12,
            tokens_source="Meta Llama 3 model card: pretrained on over 15T tokens.",
        ),
        Preset(
            "mistral-7b",
            ModelConfig(
                vocab_size=32_000,
                d_model=4096,
                n_layers=32,
                n_heads=32,
                n_kv_heads=8,
                d_ff=14_336,
                max_seq_len=32_768,
                norm_eps=1e-5,
                rope_theta=10_000.0,
            ),
            "7,241,732,096",
            "Jiang et al. 2023 (Mistral 7B), Table 1 (dim 4096, 32 layers, head_dim 128, "
            "hidden 14336, 32 heads, 8 kv heads, vocab 32000); Hugging Face checkpoint "
            "mistralai/Mistral-7B-v0.1: config.json (max_position_embeddings 32768) and its "
            "safetensors count (7.24B).",
            note="max_seq_len is the checkpoint's max_position_embeddings (32,768); the paper "
            "trains with a context of 8,192 tokens and a sliding attention window of 4,096 "
            "(Jiang et al. 2023, Table 1 and section 2). The window changes compute and the KV "
            "cache, not the parameter count: its rolling buffer keeps 4,096 tokens, so estimate "
            "the cache with kv_cache_bytes(config, context_len=..., attention_window=4096); at "
            "the full max_seq_len without it the estimate is 8x too large.",
        ),
    ]
    return {preset.name: preset for preset in presets}


#: Real models by name (chapter 1): ``PRESETS["llama-2-7b"].config``, ``.published_params``,
#: ``.source`` and, where the paper states it, ``.training_tokens``.
PRESETS: Mapping[str, Preset] = MappingProxyType(_build_presets())

#: Mixtures of experts by name (chapter 7), with their published total and active counts:
#: ``MOE_PRESETS["mixtral-8x7b"].published_params`` and ``.published_active_params``.
MOE_PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _moe_presets()})


def _tokens(count: float) -> str:
    return f"{count / 1e12:g}T" if count >= 1e12 else f"{count / 1e9:g}B"


def preset_table(names: list[str] | None = None) -> str:
    """Computed vs published parameter counts, and training tokens, of presets (chapter 1).

    A ``*`` marks presets whose configuration only approximates the real model: their
    ``note`` explains the gap.
    """
    names = list(PRESETS) if names is None else names
    unknown = [name for name in names if name not in PRESETS]
    if unknown:
        raise ValueError(f"names must be presets ({', '.join(PRESETS)}); unknown: {unknown}")
    header = f"{'model':<16}{'computed':>17}{'published':>15}{'gap':>9}{'tokens':>8}"
    rows = [header, "-" * len(header)]
    for name in names:
        preset = PRESETS[name]
        mark = "*" if preset.max_gap is not None else ""
        tokens = _tokens(preset.training_tokens) if preset.training_tokens else "—"
        rows.append(
            f"{name + mark:<16}{preset.estimated_params:>17,}{preset.published_as:>15}"
            f"{preset.gap:>+9.2%}{tokens:>8}"
        )
    return "\n".join(rows)


def moe_preset_table() -> str:
    """Total and active parameters of :data:`MOE_PRESETS`, computed and published (chapter 7)."""
    header = (
        f"{'model':<15}{'total':>17}{'published':>10}{'active':>16}{'published':>10}"
        f"{'active share':>14}"
    )
    rows = [header, "-" * len(header)]
    for name, preset in MOE_PRESETS.items():
        total, active = preset.estimated_params, preset.estimated_active_params
        rows.append(
            f"{name:<15}{total:>17,}{preset.published_as:>10}{active:>16,}"
            f"{preset.published_active_as:>10}{active / total:>14.1%}"
        )
    return "\n".join(rows)
