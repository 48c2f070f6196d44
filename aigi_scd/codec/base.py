"""The codec interface every codec implements, and what an encode reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image


@dataclass
class Encoded:
    """A finished file and how it was made (for benchmarks and logs; the file alone decodes)."""

    data: bytes
    width: int
    height: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def bpp(self) -> float:
        """8 × file bytes / pixels: every byte of the file counts."""
        return 8.0 * len(self.data) / (self.width * self.height)


class Codec(Protocol):
    """``encode(image, target_bpp=None, **side) -> bytes`` and ``decode(bytes) -> image``.

    `side` carries what some codecs can use besides the pixels (for MISC: ``prompt``, the sample's
    PromptSpec json). A target the codec cannot reach raises TargetUnreachableError; a file it cannot
    read raises BitstreamError.
    """

    name: str

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded: ...

    def encode(self, image: Any, target_bpp: float | None = None, **side: Any) -> bytes: ...

    def decode(self, data: bytes) -> Image.Image: ...


class CodecBase:
    """Shared plumbing: `encode` is `encode_report(...).data`."""

    name: str

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        raise NotImplementedError

    def encode(self, image: Any, target_bpp: float | None = None, **side: Any) -> bytes:
        return self.encode_report(image, target_bpp, **side).data

    def decode(self, data: bytes) -> Image.Image:
        raise NotImplementedError
