"""Entropy coding of the semantic text.

Brotli (quality 11, text mode) is used because its built-in static dictionary of common English
words and phrases compresses short texts, where a general-purpose coder without a dictionary has
nothing to learn from: measured on tests/data/descriptions.jsonl (24 MISC-style descriptions,
274 characters on average) it needs 4.39 bits per character, zlib 4.89 and raw text 8.
"""

from __future__ import annotations

import brotli

from aigi_scd.codec.errors import BitstreamError

MAX_TEXT_BYTES = 16 * 1024  # far above any MISC description; bounds a hostile decompression


def encode_text(text: str) -> bytes:
    return brotli.compress(text.encode("utf-8"), mode=brotli.MODE_TEXT, quality=11, lgwin=10)


def decode_text(data: bytes) -> str:
    decompressor = brotli.Decompressor()
    try:
        raw = decompressor.process(data, output_buffer_limit=MAX_TEXT_BYTES + 1)
    except brotli.error as exc:
        raise BitstreamError(f"semantic text does not decompress ({exc})") from None
    if len(raw) > MAX_TEXT_BYTES or not decompressor.is_finished():
        raise BitstreamError("semantic text is incomplete or longer than 16 KiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BitstreamError(f"semantic text is not UTF-8 (byte {exc.start})") from None
