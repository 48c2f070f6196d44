"""Codecs: MISC (semantic + map + pixel layers, rebuilt by a decoder) and baselines, behind one interface.

``get_codec(name).encode(image, target_bpp) -> bytes`` and ``decode_file(bytes) -> (image, codec)``.
"""

from aigi_scd.codec.base import Codec, Encoded
from aigi_scd.codec.errors import BitstreamError, ImageInputError, TargetUnreachableError
from aigi_scd.codec.presets import CodecPreset, all_presets, load_codec_preset
from aigi_scd.codec.registry import build_codec, codec_for_file, decode_file, get_codec, sniff

__all__ = [
    "BitstreamError",
    "Codec",
    "CodecPreset",
    "Encoded",
    "ImageInputError",
    "TargetUnreachableError",
    "all_presets",
    "build_codec",
    "codec_for_file",
    "decode_file",
    "get_codec",
    "load_codec_preset",
    "sniff",
]
