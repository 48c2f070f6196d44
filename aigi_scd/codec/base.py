"""The codec interface every codec implements, and what an encode reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

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


T = TypeVar("T")


def image_work(side: dict[str, Any], owner: str, make: Callable[[], T]) -> tuple[T, bool]:
    """Work that one image's encodes at several targets share (a rate-control search and its trial encodes, a
    semantic layer): kept in ``side["image_cache"]`` under `owner` when the caller keeps such a cache (compress
    does, for all targets of a codec and an image), made by `make` on first use. Returns (the work, whether an
    earlier encode made it). A shared search must choose each file as a search of its own would: only its cost
    may change, never the bitstream."""
    cache = side.get("image_cache")
    if cache is None:
        return make(), False
    if owner in cache:
        return cache[owner], True
    cache[owner] = work = make()
    return work, False


class Codec(Protocol):
    """``encode(image, target_bpp=None, **side) -> bytes`` and ``decode(bytes) -> image``.

    `side` carries what some codecs can use besides the pixels (for MISC: ``prompt``, the sample's
    PromptSpec json), and ``image_cache``: a dict the caller keeps across the encodes of one image at several
    targets, where a codec may keep work those encodes share (:func:`image_work`); a codec that ignores it
    is still correct. A target the codec cannot reach raises TargetUnreachableError; a file it cannot read
    raises BitstreamError.
    """

    name: str

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded: ...

    def encode(self, image: Any, target_bpp: float | None = None, **side: Any) -> bytes: ...

    def decode(self, data: bytes) -> Image.Image: ...


class CodecBase:
    """Shared plumbing: `encode` is `encode_report(...).data`."""

    name: str

    @property
    def shared_work(self) -> tuple[str, ...]:
        """The :func:`image_work` entries this codec shares with other codecs on the same image (besides its own,
        under its name): compress keeps codecs that share one in the same task, so the work is done once."""
        return ()

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        raise NotImplementedError

    def encode(self, image: Any, target_bpp: float | None = None, **side: Any) -> bytes:
        return self.encode_report(image, target_bpp, **side).data

    def decode(self, data: bytes) -> Image.Image:
        raise NotImplementedError
