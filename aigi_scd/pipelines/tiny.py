"""Tiny random-weight pipelines built offline, saved with ``save_pretrained``.

A card whose ``repo`` is ``tiny:<builder>`` names one of these builders. The first use builds the
pipeline from small configs of the real architecture (same pipeline, model and scheduler classes
as the real card) with seeded random weights and offline-trained tokenizers, and saves it into the
cache; from then on it is an ordinary local diffusers folder that ``DiffusionPipeline.from_pretrained``
loads exactly as it loads a hub repo. Nothing here is used for real cards.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from aigi_scd.pipelines.offline_tokenizers import tiny_corpus, train_clip_tokenizer, train_t5_tokenizer

TINY_PREFIX = "tiny:"
# Bump when a builder changes in a way that changes the weights it writes.
BUILDER_VERSION = 1

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


def _seeded(seed: int):
    import torch

    torch.manual_seed(seed)


def build_sdxl():
    """StableDiffusionXLPipeline of tiny UNet/VAE/2×CLIP with the SDXL scheduler."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = train_clip_tokenizer()
    text_config = CLIPTextConfig(vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=1, pad_token_id=1, **SDXL_TEXT)
    _seeded(0)
    unet = UNet2DConditionModel(**SDXL_UNET)
    _seeded(1)
    vae = AutoencoderKL(**SDXL_VAE)
    _seeded(2)
    text_encoder = CLIPTextModel(text_config)
    _seeded(3)
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
    _seeded(0)
    transformer = PixArtTransformer2DModel(**PIXART_TRANSFORMER)
    _seeded(1)
    vae = AutoencoderKL(**{**SDXL_VAE, "scaling_factor": 0.13025})
    _seeded(2)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), **PIXART_T5))
    return PixArtSigmaPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=DPMSolverMultistepScheduler(),
    )


# Builder name → "module:function". Builders for other stages (the codec's VLM and segmenter) live
# beside the code that uses them and are imported only when asked for.
TINY_BUILDERS: dict[str, str] = {
    "sdxl": "aigi_scd.pipelines.tiny:build_sdxl",
    "pixart-sigma": "aigi_scd.pipelines.tiny:build_pixart_sigma",
    "qwen2.5-vl": "aigi_scd.codec.tiny_models:build_qwen25_vl",
    "clipseg": "aigi_scd.codec.tiny_models:build_clipseg",
}
COMPLETE_MARKER = ".aigi-scd-complete"


def _builder(name: str) -> Callable:
    module, function = TINY_BUILDERS[name].split(":")
    return getattr(importlib.import_module(module), function)


def is_tiny_repo(repo: str) -> bool:
    return repo.startswith(TINY_PREFIX)


def default_cache_dir() -> Path:
    """``$AIGI_SCD_CACHE`` or ``~/.cache/aigi-scd``: where tiny pipelines are built once and kept."""
    root = os.environ.get("AIGI_SCD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "aigi-scd")
    return Path(root)


def _fingerprint(builder: str) -> str:
    """Changes whenever what the builder writes could change: its module's code, the corpus, the version."""
    module = importlib.import_module(TINY_BUILDERS[builder].split(":")[0])
    payload = json.dumps(
        {"builder": builder, "version": BUILDER_VERSION, "source": inspect.getsource(module), "corpus": tiny_corpus()},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def ensure_tiny(repo: str, cache_dir: Path | None = None) -> Path:
    """Build the tiny pipeline named by `repo` (``tiny:<builder>``) into the cache once; return its folder.

    The folder appears atomically (built in a temporary sibling, then renamed), so a killed build
    leaves no half-written pipeline behind.
    """
    builder = repo[len(TINY_PREFIX) :]
    if builder not in TINY_BUILDERS:
        known = ", ".join(TINY_PREFIX + name for name in sorted(TINY_BUILDERS))
        raise ValueError(f"unknown tiny pipeline {repo!r}; known: {known}")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / "tiny" / f"{builder}-{_fingerprint(builder)}"
    if (target / COMPLETE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{builder}-", dir=target.parent))
    try:
        _builder(builder)().save_pretrained(staging)
        (staging / COMPLETE_MARKER).write_text(builder + "\n")
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / COMPLETE_MARKER).is_file():  # lost a race to a concurrent build: fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
