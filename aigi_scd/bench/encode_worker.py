"""Encode and decode one image with one codec at one target, and score it when scoring runs on the CPU: the
work each CPU process of `compress` does.

Kept light (no torch import unless it scores) so that worker processes start fast; codecs and metrics are
built once per process. Scoring one image where it was decoded spreads the metrics over the workers and
never sends a reconstruction back to be decoded again.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from PIL import Image

from aigi_scd.bench.sources import load_rgb
from aigi_scd.codec import ImageInputError, TargetUnreachableError, get_codec
from aigi_scd.dataset.png import encode_png
from aigi_scd.dataset.sample import plain_json, sha256
from aigi_scd.errors import AigiScdError, ModelUnavailableError

_CODECS: dict[str, Any] = {}
_SCORERS: dict[tuple, Any] = {}
# What a worker scores with: the image metrics' names and the CLIP model of clip_sim (None: it does not score).
ScoreSpec = tuple[tuple[str, ...], str]
BPP_TOLERANCE = 1e-9  # a file above its target is an error, never a silent pass


def start_worker() -> None:
    """Pool initializer: one thread per worker (the pool is the parallelism; torch would take every core)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    torch = sys.modules.get("torch")  # imported by the fork server with pyiqa when workers score
    if torch is not None:
        torch.set_num_threads(1)


def codec_for(spec: str) -> Any:
    """The codec for a preset name or path, built once per process (models load once, on first use)."""
    if spec not in _CODECS:
        _CODECS[spec] = get_codec(spec)
    return _CODECS[spec]


def remember_codec(spec: str, codec: Any) -> None:
    """Use an already built codec for `spec` in this process (the main process's model-backed codecs)."""
    _CODECS[spec] = codec


def scorer_for(score: ScoreSpec):
    """The CPU scorer of this process for `score`, built once."""
    if score not in _SCORERS:
        from aigi_scd.bench.metrics import Scorer, metric_info

        names, clip_model = score
        _SCORERS[score] = Scorer([metric_info(n) for n in names], device="cpu", clip_model=clip_model)
    return _SCORERS[score]


def score_one(score: ScoreSpec, reconstruction: bytes | Image.Image, data: bytes, only: list[str] | None = None):
    """Scores of one reconstruction (PNG bytes or an image) against its original's file bytes."""
    rec = reconstruction if isinstance(reconstruction, Image.Image) else load_rgb(reconstruction)
    try:
        return scorer_for(score).score([rec], [load_rgb(data)], only=only)[0]
    finally:
        _forget_originals(score)


def score_results(score: ScoreSpec, data: bytes, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`encode_image`'s results made by another process (compress's main process, while the workers start),
    each reconstruction scored here against the original's file bytes, as its encode would have scored it."""
    image = load_rgb(data)
    try:
        for result in results:
            if result["status"] == "ok":
                result["scores"] = scorer_for(score).score([load_rgb(result["png"])], [image])[0]
    finally:
        _forget_originals(score)
    return results


def encode_one(
    spec: str, target: float, key: str, data: bytes, prompt: dict | None, score: ScoreSpec | None = None
) -> dict[str, Any]:
    """Compress and decompress one original at one target (and score it with `score`): see :func:`encode_image`."""
    return encode_image([(spec, target)], key, data, prompt, score)[0]


def encode_image(
    jobs: Sequence[tuple[str, float]],
    key: str,
    data: bytes,
    prompt: dict | None,
    score: ScoreSpec | None = None,
) -> list[dict[str, Any]]:
    """Compress and decompress one original with every (codec, target) of `jobs` (and score each reconstruction
    with `score`), one result per job. The encodes share one image cache (:func:`aigi_scd.codec.base.image_work`),
    so the work they have in common (a codec's rate-control encodes across its targets, the thumbnails that MISC's
    pixel layer and thumb-avif both encode, a semantic layer) is done once, and each file is the one an encode of
    its own would write. A result says ok, unreachable or error and never raises for a per-image problem (a codec
    whose models cannot load raises ModelUnavailableError: the run must stop)."""
    try:
        image = load_rgb(data, f"original {key}")
    except ImageInputError as exc:  # an unreadable original: recorded with its reason, the rest of the unit goes on
        return [{"key": key, "status": "error", "error": str(exc), "min_bpp": None} for _ in jobs]
    cache: dict[str, Any] = {}
    try:
        return [_encode(codec_for(spec), spec, image, target, key, prompt, score, cache) for spec, target in jobs]
    finally:
        del cache
        _forget_originals(score)
        _trim()


def _forget_originals(score: ScoreSpec | None) -> None:
    """What the scorer remembers of this image's original is of no use to the next image: dropped."""
    if score is not None and score in _SCORERS:
        _SCORERS[score].forget_originals()


def _trim() -> None:
    """The heap the image's work freed handed back to the system (glibc's ``malloc_trim``)."""
    import ctypes

    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def _encode(codec, spec, image, target, key, prompt, score, cache) -> dict[str, Any]:
    result: dict[str, Any] = {"key": key, "status": "error", "error": None, "min_bpp": None}
    width, height = image.size
    result.update(width=width, height=height)
    start = time.perf_counter()
    try:
        encoded = codec.encode_report(image, target, prompt=prompt, key=key, image_cache=cache)
    except TargetUnreachableError as exc:
        result.update(status="unreachable", min_bpp=exc.min_bpp, error=str(exc))
        result["encode_seconds"] = time.perf_counter() - start
        return result
    except ModelUnavailableError:
        raise
    except AigiScdError as exc:
        result["error"] = str(exc)
        return result
    encode_seconds = time.perf_counter() - start
    if encoded.bpp > target + BPP_TOLERANCE:
        result["error"] = f"{spec} wrote {encoded.bpp:.5f} bpp for a {target:g} bpp target"
        return result
    start = time.perf_counter()
    try:
        reconstruction = codec.decode(encoded.data)
    except ModelUnavailableError:
        raise
    except AigiScdError as exc:
        result["error"] = f"cannot decode its own file: {exc}"
        return result
    decode_seconds = time.perf_counter() - start
    if reconstruction.size != image.size:
        result["error"] = f"decoded size {reconstruction.size} differs from the original {image.size}"
        return result
    result.update(
        status="ok",
        bitstream=encoded.data,
        png=encode_png(reconstruction),
        bytes=len(encoded.data),
        bpp=8.0 * len(encoded.data) / (width * height),
        bitstream_sha256=sha256(encoded.data),
        encode_seconds=encode_seconds,
        decode_seconds=decode_seconds,
        info=plain_json(encoded.info),
        fixed_bytes=encoded.info.get("fixed_bytes"),
        decode_verified=encoded.info.get("decode_verified", True),  # results made elsewhere say; ours are decoded here
    )
    if score is not None:
        result["scores"] = scorer_for(score).score([reconstruction], [image])[0]
    return result
