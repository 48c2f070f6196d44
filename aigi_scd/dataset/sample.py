"""The sample contract: what one WebDataset sample's json holds, and its declared `datasets` features.

The json has a fixed shape (every field always present, null when unknown) so that Arrow sees one
schema across models and shards. Things whose shape varies by model (scheduler config, extra call
arguments) are stored as JSON strings inside it. A generated sample has a ``card`` and ``imported: null``;
an imported one (``aigi-scd import``) has ``imported`` (where the image came from) and a card of nulls.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
from typing import Any

# 2: `imported` (null for generated samples); generation.text_encoders, offload, vae_tiling, vae_slicing
# 3: generation.fuse_qkv, channels_last, compile, cuda_graphs (speed settings as applied); versions.imagecodecs
SCHEMA_VERSION = 3

GENERATION_FIELDS = (
    "steps",
    "guidance",
    "width",
    "height",
    "negative_prompt",
    "extra",
    "dtype",
    "device",
    "generator",
    "batch_size",
    "prompt_tokens",
    "max_prompt_tokens",
    "prompt_truncated",
    "text_encoders",
    "offload",
    "vae_tiling",
    "vae_slicing",
    "fuse_qkv",
    "channels_last",
    "compile",
    "cuda_graphs",
)
VERSION_FIELDS = ("aigi_scd", "python", "torch", "diffusers", "transformers", "pillow", "numpy", "imagecodecs")
CARD_FIELDS = (
    "name",
    "repo",
    "revision",
    "resolved_revision",
    "variant",
    "license",
    "pipeline_class",
    "scheduler_class",
    "scheduler_config",
    "fingerprint",
)
# Where an imported image came from: the generator as the user names it, the sampler its source gives, the
# input (as given to `aigi-scd import`) and its form, the row in it, the original file's name, sha256 and
# format, whether that format is lossy, and how the stored image differs from the original (null: byte for byte).
IMPORTED_FIELDS = (
    "generator",
    "sampler",
    "input",
    "form",
    "row",
    "original_name",
    "original_sha256",
    "original_format",
    "lossy",
    "converted",
)


@functools.cache
def library_versions() -> dict[str, str]:
    """Versions of everything that shapes a generated image."""
    import diffusers
    import imagecodecs
    import numpy
    import PIL
    import torch
    import transformers

    import aigi_scd

    return {
        "aigi_scd": aigi_scd.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "pillow": PIL.__version__,
        "numpy": numpy.__version__,
        "imagecodecs": imagecodecs.__version__,  # writes the PNGs (aigi_scd.dataset.png)
    }


def plain_json(value: Any) -> Any:
    """`value` as strict JSON data: tuples become lists, non-finite floats and other objects strings."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def json_bytes(record: dict[str, Any]) -> bytes:
    """Strict UTF-8 JSON (no NaN/Infinity tokens, which Arrow and most parsers reject)."""
    return json.dumps(plain_json(record), sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sample_json(*, generated, loaded, candidate, tokens=None, digest: str | None = None) -> dict[str, Any]:
    """The json of one sample (kept or rejected) from its generation and filter results; `digest` is the
    sha256 of the PNG when a host worker already computed it.

    `tokens` (a prompts.tokens.TokenReport) gives the prompt's token count against each text encoder's
    limit: ``prompt_tokens``/``max_prompt_tokens`` are those of the encoder that reads the most,
    ``prompt_truncated`` is true when any encoder cuts the prompt, and ``text_encoders`` lists each one.
    """
    item = generated.item
    card = loaded.card
    height, width = generated.pixels.shape[:2] if generated.pixels is not None else (None, None)
    return {
        "schema": SCHEMA_VERSION,
        "key": item.key,
        "model": card.name,
        "prompt": item.prompt.to_json(),
        "seed": item.seed,
        "index": item.index,
        "width": width,
        "height": height,
        "generation": {
            "steps": card.call.steps,
            "guidance": card.call.guidance,
            "width": card.call.width,
            "height": card.call.height,
            "negative_prompt": item.prompt.negative or card.call.negative_prompt,
            "extra": json.dumps(card.call.extra, sort_keys=True),
            "dtype": loaded.dtype,
            "device": loaded.device,
            "generator": "cpu",
            "batch_size": generated.batch_size,
            "prompt_tokens": tokens.counts.get(item.prompt.id) if tokens else None,
            "max_prompt_tokens": tokens.limit if tokens else None,
            "prompt_truncated": tokens.truncated(item.prompt.id) if tokens else None,
            "text_encoders": tokens.per_encoder(item.prompt.id) if tokens else [],
            "offload": loaded.memory.offload,
            "vae_tiling": loaded.memory.vae_tiling,
            "vae_slicing": loaded.memory.vae_slicing,
            **loaded.speed.record(),
        },
        "card": {
            "name": card.name,
            "repo": card.repo,
            "revision": card.revision,
            "resolved_revision": loaded.resolved_revision,
            "variant": card.variant,
            "license": card.license,
            "pipeline_class": loaded.pipeline_class,
            "scheduler_class": loaded.scheduler_class,
            "scheduler_config": json.dumps(loaded.scheduler_config, sort_keys=True),
            "fingerprint": card.fingerprint(),
        },
        "versions": library_versions(),
        "timing": {"batch_seconds": generated.batch_seconds, "image_seconds": generated.seconds},
        "imported": None,
        **verdict_fields(candidate),
        "sha256": (digest or sha256(candidate.png)) if candidate.png else None,
    }


def imported_sample_json(
    *,
    key: str,
    source: str,
    prompt: dict[str, Any],
    index: int,
    width: int,
    height: int,
    seed: int | None,
    generation: dict[str, Any],
    imported: dict[str, Any],
    candidate,
) -> dict[str, Any]:
    """The json of one imported sample: the same shape as a generated one, with what its source knew.

    `generation` holds the source's `steps`, `guidance`, requested `width`/`height` and `negative_prompt` (any
    may be missing); `imported` the fields of :data:`IMPORTED_FIELDS`. The card fields are null: no card ran.
    """
    unknown = (set(generation) - set(GENERATION_FIELDS)) | (set(imported) - set(IMPORTED_FIELDS))
    if unknown:
        raise ValueError(f"not fields of the sample json: {sorted(unknown)}")
    return {
        "schema": SCHEMA_VERSION,
        "key": key,
        "model": source,
        "prompt": prompt,
        "seed": seed,
        "index": index,
        "width": width,
        "height": height,
        "generation": {**dict.fromkeys(GENERATION_FIELDS), **generation},
        "card": dict.fromkeys(CARD_FIELDS),
        "versions": library_versions(),
        "timing": {"batch_seconds": None, "image_seconds": None},
        "imported": {**dict.fromkeys(IMPORTED_FIELDS), **imported},
        **verdict_fields(candidate),
        "sha256": sha256(candidate.png) if candidate.png else None,
    }


def verdict_fields(candidate) -> dict[str, Any]:
    """The audit trail of a sample's json: every filter's result, the verdict and the rejecting reason."""
    rejected = candidate.rejected_by
    return {
        "filters": [r.to_json() for r in candidate.results],
        "verdict": "reject" if rejected else "keep",
        "reason": f"{rejected.name}: {rejected.reason}" if rejected else None,
    }


def sample_features(image_fields: tuple[str, ...] = ("png",)):
    """`datasets.Features` of a shard sample: each of `image_fields` (``png``; imported originals also ``jpg``,
    ``webp``) as an Image (a row has one of them, the others are None), ``json`` as a struct."""
    from datasets import Features, List, Value
    from datasets import Image as ImageFeature

    s, i, f, b = Value("string"), Value("int64"), Value("float64"), Value("bool")
    imported_types = {"row": i, "lossy": b}
    return Features(
        {
            "__key__": s,
            "__url__": s,
            **{name: ImageFeature() for name in image_fields},
            "json": {
                "schema": i,
                "key": s,
                "model": s,
                "prompt": {
                    "id": s,
                    "text": s,
                    "negative": s,
                    "category": s,
                    "style": s,
                    "objects": List({"name": s, "detail": s}),
                    "source": {"suite": s, "line": i},
                    "extra": s,
                },
                "seed": i,
                "index": i,
                "width": i,
                "height": i,
                "generation": {
                    "steps": i,
                    "guidance": f,
                    "width": i,
                    "height": i,
                    "negative_prompt": s,
                    "extra": s,
                    "dtype": s,
                    "device": s,
                    "generator": s,
                    "batch_size": i,
                    "prompt_tokens": i,
                    "max_prompt_tokens": i,
                    "prompt_truncated": b,
                    "text_encoders": List({"name": s, "tokens": i, "max_tokens": i, "truncated": b}),
                    "offload": s,
                    "vae_tiling": b,
                    "vae_slicing": b,
                    "fuse_qkv": b,
                    "channels_last": b,
                    "compile": b,
                    "cuda_graphs": b,
                },
                "card": {
                    "name": s,
                    "repo": s,
                    "revision": s,
                    "resolved_revision": s,
                    "variant": s,
                    "license": s,
                    "pipeline_class": s,
                    "scheduler_class": s,
                    "scheduler_config": s,
                    "fingerprint": s,
                },
                "versions": {k: s for k in VERSION_FIELDS},
                "timing": {"batch_seconds": f, "image_seconds": f},
                "imported": {name: imported_types.get(name, s) for name in IMPORTED_FIELDS},
                "filters": List({"name": s, "score": f, "passed": b, "reason": s}),
                "verdict": s,
                "reason": s,
                "sha256": s,
            },
        }
    )
