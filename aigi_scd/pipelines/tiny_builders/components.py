"""Small configs and tokenizers shared by the tiny builders: the real components' classes at toy sizes.

Sizes keep what a family's code depends on (the VAE's 8× downsampling, latent channels, two CLIP
encoders with pooled projections, T5 relative attention) and shrink everything else, so each tiny
pipeline builds in about a second and generates a 128-pixel image in well under one on a CPU.
"""

from __future__ import annotations

import functools

from aigi_scd.weights.offline_tokenizers import train_clip_tokenizer, train_t5_tokenizer

TEXT_WIDTH = 32  # hidden size of every tiny text encoder


def vae_config(latent_channels: int = 4, **overrides) -> dict:
    """An AutoencoderKL with four levels (8× downsampling, as every real latent-diffusion VAE here)."""
    config = dict(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[8, 16, 16, 16],
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=4,
        sample_size=128,
    )
    config.update(overrides)
    return config


def clip_text_config(vocab_size: int, **overrides):
    """A CLIPTextConfig whose start (0) and end/padding (1) ids match the offline CLIP tokenizer."""
    from transformers import CLIPTextConfig

    config = dict(
        vocab_size=vocab_size,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=TEXT_WIDTH,
        intermediate_size=64,
        num_attention_heads=4,
        num_hidden_layers=2,
        projection_dim=TEXT_WIDTH,
        max_position_embeddings=77,
        hidden_act="gelu",
    )
    config.update(overrides)
    return CLIPTextConfig(**config)


def t5_config(vocab_size: int, d_model: int = TEXT_WIDTH):
    """A T5Config of a two-layer encoder with gated-GELU feed-forward (as T5 v1.1, FLAN and UL2)."""
    from transformers import T5Config

    return T5Config(
        vocab_size=vocab_size,
        d_model=d_model,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
    )


@functools.cache
def clip_tokenizer():
    """The offline CLIP tokenizer, learned once per process (several families share it)."""
    return train_clip_tokenizer()


@functools.cache
def t5_tokenizer(model_max_length: int):
    """The offline T5 tokenizer with the long-context limit its family reads."""
    return train_t5_tokenizer(model_max_length=model_max_length)
