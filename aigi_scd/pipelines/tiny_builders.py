"""Builders of tiny random-weight diffusers pipelines, one per family (``tiny:<builder>`` repos).

Each builds the real architecture's pipeline, model and scheduler classes from small configs, with
seeded random weights and offline-trained tokenizers. :mod:`aigi_scd.weights.tiny` calls them once and
saves the result with ``save_pretrained``; ``DiffusionPipeline.from_pretrained`` then loads that folder
exactly as it loads a hub repo. Nothing here is used for real cards.
"""

from __future__ import annotations

from aigi_scd.weights.offline_tokenizers import train_clip_tokenizer, train_t5_tokenizer
from aigi_scd.weights.tiny import seeded

SDXL_VAE = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4,
    block_out_channels=[8, 16, 16, 16],
    layers_per_block=1,
    latent_channels=4,
    norm_num_groups=4,
    sample_size=128,
    scaling_factor=0.13025,
)

SDXL_UNET = dict(
    sample_size=16,
    in_channels=4,
    out_channels=4,
    block_out_channels=[32, 64],
    layers_per_block=1,
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
    up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
    attention_head_dim=[2, 4],
    transformer_layers_per_block=[1, 1],
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=8 * 6 + 32,  # 6 micro-conditioning ids + pooled text dim
    cross_attention_dim=64,  # text_encoder hidden (32) + text_encoder_2 hidden (32)
    norm_num_groups=8,
)

SDXL_TEXT = dict(
    hidden_size=32,
    intermediate_size=64,
    num_attention_heads=4,
    num_hidden_layers=2,
    projection_dim=32,
    max_position_embeddings=77,
    hidden_act="gelu",
)

SDXL_SCHEDULER = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    steps_offset=1,
    timestep_spacing="leading",
    prediction_type="epsilon",
)

PIXART_TRANSFORMER = dict(
    sample_size=32,  # 32 latents = the 256-pixel aspect-ratio bins, so resolution binning runs as for real
    num_layers=2,
    patch_size=2,
    attention_head_dim=8,
    num_attention_heads=3,
    caption_channels=32,
    in_channels=4,
    out_channels=8,
    cross_attention_dim=24,
    attention_bias=True,
    activation_fn="gelu-approximate",
    num_embeds_ada_norm=1000,
    norm_type="ada_norm_single",
    norm_elementwise_affine=False,
    norm_eps=1e-6,
    interpolation_scale=None,
    use_additional_conditions=False,
)

PIXART_T5 = dict(
    d_model=32,
    d_kv=8,
    d_ff=64,
    num_layers=2,
    num_heads=4,
    relative_attention_num_buckets=8,
    feed_forward_proj="gated-gelu",
    is_encoder_decoder=False,
)


def build_sdxl():
    """StableDiffusionXLPipeline of tiny UNet/VAE/2×CLIP with the SDXL scheduler."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = train_clip_tokenizer()
    text_config = CLIPTextConfig(vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=1, pad_token_id=1, **SDXL_TEXT)
    seeded(0)
    unet = UNet2DConditionModel(**SDXL_UNET)
    seeded(1)
    vae = AutoencoderKL(**SDXL_VAE)
    seeded(2)
    text_encoder = CLIPTextModel(text_config)
    seeded(3)
    text_encoder_2 = CLIPTextModelWithProjection(text_config)
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER),
        add_watermarker=False,
    )


def build_pixart_sigma():
    """PixArtSigmaPipeline of a tiny DiT, tiny VAE and tiny T5 encoder with the DPM-Solver scheduler."""
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, PixArtSigmaPipeline, PixArtTransformer2DModel
    from transformers import T5Config, T5EncoderModel

    tokenizer = train_t5_tokenizer(model_max_length=300)
    seeded(0)
    transformer = PixArtTransformer2DModel(**PIXART_TRANSFORMER)
    seeded(1)
    vae = AutoencoderKL(**{**SDXL_VAE, "scaling_factor": 0.13025})
    seeded(2)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), **PIXART_T5))
    return PixArtSigmaPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=DPMSolverMultistepScheduler(),
    )
