"""What each pipeline family needs that diffusers does not check up front: image sizes, text encoders and
their token limits, the attribute holding the image decoder.

diffusers finds some of these only mid-generation (SD3 raises on a width that is not a multiple of 16),
silently changes others (Flux resizes to multiples of 16, Kandinsky 3 rounds up to multiples of 64), and
truncates long prompts in every text encoder without saying so. Cards are checked against this table when
they load, and the token report counts prompts against every encoder listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLIP_TOKENS = 77  # CLIP's context, start and end tokens included


@dataclass(frozen=True)
class TextEncoder:
    """One text encoder of a pipeline and how many prompt tokens it reads."""

    name: str  # as reports name it: CLIP-L, CLIP-G, T5
    tokenizer: str  # the pipeline attribute holding its tokenizer
    fixed_limit: int | None = None  # a limit the pipeline hard-codes (CLIP: its tokenizer's 77; Kandinsky 3: 128)
    limit_argument: str | None = None  # the call argument that sets the limit (max_sequence_length)
    default_limit: int | None = None  # the pipeline's default for that argument
    max_limit: int | None = None  # the largest value the pipeline accepts for it


@dataclass(frozen=True)
class Family:
    """A diffusers pipeline class and its constraints."""

    pipeline: str
    size_multiple: int  # width and height must be multiples of this
    size_reason: str  # why, for the error message
    text_encoders: tuple[TextEncoder, ...]
    decoder: str = "vae"  # the pipeline attribute holding the latent decoder (VAE tiling/slicing apply to it)

    @property
    def limit_arguments(self) -> set[str]:
        return {e.limit_argument for e in self.text_encoders if e.limit_argument}


def _clip(name: str, tokenizer: str) -> TextEncoder:
    return TextEncoder(name, tokenizer, fixed_limit=CLIP_TOKENS)


def _t5(tokenizer: str, default: int, maximum: int | None = None) -> TextEncoder:
    return TextEncoder("T5", tokenizer, limit_argument="max_sequence_length", default_limit=default, max_limit=maximum)


_LATENT_8 = "the VAE downsamples by 8"
FAMILIES: dict[str, Family] = {
    f.pipeline: f
    for f in (
        Family("StableDiffusionPipeline", 8, _LATENT_8, (_clip("CLIP", "tokenizer"),)),
        Family(
            "StableDiffusionXLPipeline", 8, _LATENT_8, (_clip("CLIP-L", "tokenizer"), _clip("CLIP-G", "tokenizer_2"))
        ),
        # With resolution binning PixArt generates at the nearest trained bin and resizes back, so any
        # multiple of 8 is returned at the requested size.
        Family("PixArtSigmaPipeline", 8, _LATENT_8, (_t5("tokenizer", 300),)),
        Family(
            "StableDiffusion3Pipeline",
            16,
            "the VAE downsamples by 8 and the transformer reads 2×2 patches; diffusers raises mid-build otherwise",
            (_clip("CLIP-L", "tokenizer"), _clip("CLIP-G", "tokenizer_2"), _t5("tokenizer_3", 256, 512)),
        ),
        Family(
            "FluxPipeline",
            16,
            "the VAE downsamples by 8 and latents are packed 2×2; diffusers silently resizes otherwise",
            (_clip("CLIP", "tokenizer"), _t5("tokenizer_2", 512, 512)),
        ),
        Family(
            "Kandinsky3Pipeline",
            64,
            "the pipeline rounds sizes up to multiples of 64 without saying so",
            (TextEncoder("T5", "tokenizer", fixed_limit=128),),  # FLAN-UL2's encoder; 128 is hard-coded
            decoder="movq",
        ),
    )
}


def family(pipeline: str | None) -> Family | None:
    """The family of a diffusers pipeline class name, or None for classes this table does not know."""
    return FAMILIES.get(pipeline or "")


def card_problem(pipeline: str | None, width: int, height: int, extra: dict[str, Any]) -> str | None:
    """Why a card's call settings cannot work with its pipeline class (None when they can)."""
    known = family(pipeline)
    if known is None:
        return None
    for side, value in (("width", width), ("height", height)):
        if value % known.size_multiple:
            lower = value - value % known.size_multiple
            upper = lower + known.size_multiple
            sizes = f"{lower} or {upper}" if lower else str(upper)
            return (
                f"call.{side}: {value} is not a multiple of {known.size_multiple}, which {pipeline} needs "
                f"({known.size_reason}); use {sizes}"
            )
    for encoder in known.text_encoders:
        if encoder.limit_argument and encoder.limit_argument in extra:
            value = extra[encoder.limit_argument]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                return f"call.extra.{encoder.limit_argument}: expected a positive integer, got {value!r}"
            if encoder.max_limit and value > encoder.max_limit:
                return (
                    f"call.extra.{encoder.limit_argument}: {value} is more than {pipeline} accepts "
                    f"({encoder.max_limit}); use at most {encoder.max_limit}"
                )
    if "max_sequence_length" in extra and "max_sequence_length" not in known.limit_arguments:
        limits = ", ".join(f"{e.name} {e.fixed_limit}" for e in known.text_encoders if e.fixed_limit)
        return (
            f"call.extra.max_sequence_length: {pipeline} takes no max_sequence_length (its text encoders read a "
            f"fixed number of tokens: {limits}); remove it"
        )
    return None


def encoder_limit(encoder: TextEncoder, tokenizer: Any, extra: dict[str, Any]) -> int | None:
    """How many tokens `encoder` reads in a pipeline called with `extra`, as the pipeline computes it."""
    if encoder.limit_argument:
        return int(extra.get(encoder.limit_argument) or encoder.default_limit)
    if encoder.fixed_limit == CLIP_TOKENS:  # the CLIP pipelines read the tokenizer's model_max_length
        limit = getattr(tokenizer, "model_max_length", None)
        return int(limit) if limit and limit < 1_000_000 else CLIP_TOKENS
    return encoder.fixed_limit
