"""Tiny diffusion-transformer pipelines: PixArt-Σ, SD3 (MMDiT, three text encoders) and FLUX.1-schnell,
plus Kandinsky 3 (a UNet over a T5 encoder, decoded by MoVQ).

They keep what their pipelines' code depends on: SD3's 2×2 patches and 16-channel VAE (hence sizes in
multiples of 16), Flux's packed latents and rotary axes, PixArt's 256-pixel aspect-ratio bins, and
Kandinsky 3's four-level MoVQ (8× upsampling after the pipeline's rounding to multiples of 64).
"""

from __future__ import annotations

from aigi_scd.pipelines.tiny_builders.components import (
    TEXT_WIDTH,
    clip_text_config,
    clip_tokenizer,
    t5_config,
    t5_tokenizer,
    vae_config,
)
from aigi_scd.weights.tiny import seeded

PIXART_TRANSFORMER = dict(
    sample_size=32,  # 32 latents = the 256-pixel aspect-ratio bins, so resolution binning runs as for real
    num_layers=2,
    patch_size=2,
    attention_head_dim=8,
    num_attention_heads=3,
    caption_channels=TEXT_WIDTH,
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
# stable-diffusion-3-medium-diffusers: rectified flow with a constant timestep shift of 3.
SD3_SCHEDULER = dict(num_train_timesteps=1000, shift=3.0)
# FLUX.1-schnell: rectified flow without resolution-dependent shifting (distilled for 1-4 steps).
FLUX_SCHNELL_SCHEDULER = dict(
    num_train_timesteps=1000,
    shift=1.0,
    use_dynamic_shifting=False,
    base_shift=0.5,
    max_shift=1.15,
    base_image_seq_len=256,
    max_image_seq_len=4096,
)
# kandinsky-community/kandinsky-3: DDPM over a squared-cosine schedule with clipping.
KANDINSKY3_SCHEDULER = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="squaredcos_cap_v2",
    clip_sample=True,
    clip_sample_range=1.0,
    num_train_timesteps=1000,
    prediction_type="epsilon",
    steps_offset=1,
    thresholding=False,
    timestep_spacing="leading",
    variance_type="fixed_small",
)
# SD3 and Flux VAEs: 16 latent channels, no quant convs, a shift and scale on the latents.
SD3_VAE = vae_config(16, use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)
FLUX_VAE = vae_config(16, use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.1159, scaling_factor=0.3611)


def build_pixart_sigma():
    """PixArtSigmaPipeline of a tiny DiT, tiny VAE and tiny T5 encoder with the DPM-Solver scheduler."""
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, PixArtSigmaPipeline, PixArtTransformer2DModel
    from transformers import T5EncoderModel

    tokenizer = t5_tokenizer(300)
    seeded(0)
    transformer = PixArtTransformer2DModel(**PIXART_TRANSFORMER)
    seeded(1)
    vae = AutoencoderKL(**vae_config(scaling_factor=0.13025))
    seeded(2)
    text_encoder = T5EncoderModel(t5_config(len(tokenizer)))
    return PixArtSigmaPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=DPMSolverMultistepScheduler(),  # the repo's: linear betas, DPM-Solver++ 2M
    )


def build_sd3():
    """StableDiffusion3Pipeline: an MMDiT over CLIP-L + CLIP-G (with projections) + T5, 16-channel VAE."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from transformers import CLIPTextModelWithProjection, T5EncoderModel

    clip = clip_tokenizer()
    t5 = t5_tokenizer(512)
    joint = 2 * TEXT_WIDTH  # the two CLIP states side by side, padded to T5's width
    seeded(0)
    transformer = SD3Transformer2DModel(
        sample_size=16,
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=joint,
        caption_projection_dim=32,
        pooled_projection_dim=2 * TEXT_WIDTH,  # both CLIP encoders' pooled projections
        pos_embed_max_size=32,
    )
    seeded(1)
    vae = AutoencoderKL(**SD3_VAE)
    seeded(2)
    text_encoder = CLIPTextModelWithProjection(clip_text_config(len(clip)))
    seeded(3)
    text_encoder_2 = CLIPTextModelWithProjection(clip_text_config(len(clip)))
    seeded(4)
    text_encoder_3 = T5EncoderModel(t5_config(len(t5), d_model=joint))
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(**SD3_SCHEDULER),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=clip,
        text_encoder_2=text_encoder_2,
        tokenizer_2=clip,
        text_encoder_3=text_encoder_3,
        tokenizer_3=t5,
    )


def build_flux_schnell():
    """FluxPipeline: a double- and single-stream transformer over CLIP (pooled) + T5, no guidance embedding."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel, T5EncoderModel

    clip = clip_tokenizer()
    t5 = t5_tokenizer(512)
    seeded(0)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,  # 16 latent channels packed 2×2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=TEXT_WIDTH,
        guidance_embeds=False,  # schnell: distilled without guidance (dev has it)
        axes_dims_rope=(4, 4, 8),
    )
    seeded(1)
    vae = AutoencoderKL(**FLUX_VAE)
    seeded(2)
    text_encoder = CLIPTextModel(clip_text_config(len(clip)))
    seeded(3)
    text_encoder_2 = T5EncoderModel(t5_config(len(t5)))
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**FLUX_SCHNELL_SCHEDULER),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=clip,
        text_encoder_2=text_encoder_2,
        tokenizer_2=t5,
        transformer=transformer,
    )


def build_kandinsky3():
    """Kandinsky3Pipeline: Kandinsky3UNet over a T5 encoder (FLAN-UL2's in the real one), MoVQ decoder."""
    from diffusers import DDPMScheduler, Kandinsky3Pipeline, Kandinsky3UNet, VQModel
    from transformers import T5EncoderModel

    tokenizer = t5_tokenizer(512)
    seeded(0)
    unet = Kandinsky3UNet(
        in_channels=4,
        time_embedding_dim=4,
        groups=2,
        attention_head_dim=4,
        layers_per_block=3,  # its up blocks assume three (as the real UNet); fewer breaks their attention
        block_out_channels=(32, 64),
        cross_attention_dim=4,
        encoder_hid_dim=TEXT_WIDTH,
    )
    seeded(1)
    movq = VQModel(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 3 + ["AttnDownEncoderBlock2D"],
        up_block_types=["AttnUpDecoderBlock2D"] + ["UpDecoderBlock2D"] * 3,
        block_out_channels=[32] * 4,  # MoVQ's spatial norm groups channels by 32
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        norm_type="spatial",
        num_vq_embeddings=16,
        vq_embed_dim=4,
        sample_size=128,
    )
    seeded(2)
    text_encoder = T5EncoderModel(t5_config(len(tokenizer)))
    return Kandinsky3Pipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        unet=unet,
        scheduler=DDPMScheduler(**KANDINSKY3_SCHEDULER),
        movq=movq,
    )
