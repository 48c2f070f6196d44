"""Encode and decode one image with one codec at one target: the work each CPU process of `compress` does.

Kept light (no torch import) so that worker processes start fast; codecs are built once per process.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from aigi_scd.bench.sources import load_rgb
from aigi_scd.codec import ImageInputError, TargetUnreachableError, get_codec
from aigi_scd.dataset.png import encode_png
from aigi_scd.dataset.sample import plain_json, sha256
from aigi_scd.errors import AigiScdError, ModelUnavailableError

_CODECS: dict[str, Any] = {}
BPP_TOLERANCE = 1e-9  # a file above its target is an error, never a silent pass


def codec_for(spec: str) -> Any:
    """The codec for a preset name or path, built once per process (models load once, on first use)."""
    if spec not in _CODECS:
        _CODECS[spec] = get_codec(spec)
    return _CODECS[spec]


def ignore_interrupts() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group; the main process alone handles it (it lets the
    running encodes finish, keeps finished units, and says how to resume), so workers print no traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def remember_codec(spec: str, codec: Any) -> None:
    """Use an already built codec for `spec` in this process (the main process's model-backed codecs)."""
    _CODECS[spec] = codec


def encode_one(spec: str, target: float, key: str, data: bytes, prompt: dict | None) -> dict[str, Any]:
    """Compress and decompress one original; the result says ok, unreachable or error and never raises for a
    per-image problem (a codec whose models cannot load raises ModelUnavailableError: the run must stop)."""
    result: dict[str, Any] = {"key": key, "status": "error", "error": None, "min_bpp": None}
    try:
        image = load_rgb(data, f"original {key}")
    except ImageInputError as exc:  # an unreadable original: recorded with its reason, the rest of the unit goes on
        result["error"] = str(exc)
        return result
    width, height = image.size
    result.update(width=width, height=height)
    codec = codec_for(spec)
    start = time.perf_counter()
    try:
        encoded = codec.encode_report(image, target, prompt=prompt)
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
    )
    return result
