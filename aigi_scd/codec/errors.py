"""The codec's two user-facing errors: a damaged file, and a bitrate that cannot be met."""

from __future__ import annotations

from aigi_scd.errors import AigiScdError


class BitstreamError(AigiScdError):
    """The one exception decoding raises for any bad input: truncated, corrupted, wrong version,
    unknown codec, or not a file we wrote. ``offset`` is the byte where the problem was found."""

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"invalid bitstream{where}: {reason}")


class TargetUnreachableError(AigiScdError):
    """The requested bitrate is below what the codec can produce for this image (never exceeded silently)."""

    def __init__(self, codec: str, target_bpp: float, min_bpp: float | None, detail: str = ""):
        self.codec = codec
        self.target_bpp = target_bpp
        self.min_bpp = min_bpp
        low = f"; its smallest file is {min_bpp:.4f} bpp" if min_bpp is not None else ""
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{codec} cannot reach {target_bpp:g} bpp on this image{low}{extra}")


class ImageInputError(AigiScdError):
    """An input image the codecs refuse, with the reason."""
