"""What each codec spends per file besides the coded picture (header and container), stated for `aigi-scd list
codecs`: measured on a 64×64 probe encode where the codec runs without models, computed from the format where it
does not (MISC, CompressAI), declared (``fixed_bytes:``) where the codec cannot tell. Per-file values are in each
encode's details and the results rows (``fixed_bytes``)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from aigi_scd.codec.presets import CodecPreset

KODAK = (768, 512)  # the size formulas are given for: the natural reference set


def _probe() -> Image.Image:
    ramp = np.linspace(0, 255, 64, dtype=np.float64)
    pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], 128.0 + 0 * ramp[None, :]), axis=-1)
    return Image.fromarray(pixels.astype(np.uint8))


def fixed_bytes_statement(preset: CodecPreset) -> str:
    """One phrase: ``287 B (AVIF boxes + size box)``, ``≤ 23 B (smallest 64×64 file; ...)``, or why not known."""
    if preset.fixed_bytes is not None:
        return f"{preset.fixed_bytes} B (declared)"
    if preset.kind == "misc":
        from aigi_scd.codec.misc.bitstream import MiscFile

        header = len(MiscFile(preset.id or 1, *KODAK, {}).to_bytes())
        return f"{header} B header + CRC at 768×512, plus 1–2 B per layer's length"
    if preset.kind == "compressai":
        from aigi_scd.codec.misc.bitstream import write_varint

        head = 3 + len(write_varint(KODAK[0])) + len(write_varint(KODAK[1])) + 3
        return f"{head} B container at 768×512 (+1–2 B per string but the last; latent shape included)"
    if preset.kind == "external":
        return "not stated (give fixed_bytes: in the folder's codec.yaml)"
    try:
        from aigi_scd.codec.registry import build_codec

        codec = build_codec(preset)
        if callable(getattr(codec, "encode_at", None)) and callable(getattr(codec, "levels", None)):
            data = codec.encode_at(_probe(), codec.levels()[0])
            fixed = codec.fixed_bytes(data)
        else:
            encoded = codec.encode_report(_probe(), None)
            data, fixed = encoded.data, encoded.info.get("fixed_bytes")
    except Exception as exc:  # a listing never stops for one codec
        return f"not measured ({' '.join(str(exc).split())[:120]})"
    if fixed is not None:
        return f"{fixed} B (header and container, 64×64 probe)"
    return f"≤ {len(data)} B (its smallest 64×64 file; the format does not separate its header)"


def origin(preset: CodecPreset) -> str:
    """Where a preset came from: a registry or preset file, or an installed package's entry point."""
    return preset.source or "built in"
