"""Hypothesis strategies shared by the tests: small but varied valid ModelConfigs."""

from __future__ import annotations

from hypothesis import strategies as st

from course_utils.config import MLPS, NORMS, POSITION_EMBEDDINGS, ModelConfig


@st.composite
def model_configs(draw, norms=NORMS, mlps=MLPS, position_embeddings=POSITION_EMBEDDINGS):
    """Any small valid config, grouped-query attention and every architecture choice included."""
    n_heads = draw(st.sampled_from([1, 2, 4, 8]))
    n_kv_heads = draw(st.sampled_from([h for h in (1, 2, 4, 8) if n_heads % h == 0]))
    head_dim = draw(st.sampled_from([2, 4, 8, 16]))
    return ModelConfig(
        vocab_size=draw(st.integers(1, 1000)),
        d_model=n_heads * head_dim,
        n_layers=draw(st.integers(1, 4)),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        d_ff=draw(st.none() | st.integers(1, 300)),
        max_seq_len=draw(st.integers(1, 256)),
        norm=draw(st.sampled_from(norms)),
        mlp=draw(st.sampled_from(mlps)),
        pos_embedding=draw(st.sampled_from(position_embeddings)),
        tie_embeddings=draw(st.booleans()),
        bias=draw(st.booleans()),
    )
