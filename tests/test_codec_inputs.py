"""Odd inputs: handled or refused with a reason."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aigi_scd.codec import ImageInputError, TargetUnreachableError, decode_file, get_codec
from aigi_scd.codec.image import to_rgb8


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (40, 30), 90),
        Image.new("RGBA", (40, 30), (10, 200, 30, 128)),
        Image.fromarray(np.full((30, 40), 40000, dtype=np.uint16)),
        Image.new("P", (40, 30), 3),
        np.random.default_rng(0).random((30, 40, 3)),
        np.zeros((30, 40), dtype=np.uint8),
    ],
)
def test_modes_become_8_bit_rgb(image):
    rgb = to_rgb8(image)
    assert rgb.mode == "RGB" and rgb.size == (40, 30)


def test_sixteen_bit_is_scaled_not_clipped():
    rgb = to_rgb8(Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16)))
    assert 126 <= np.asarray(rgb)[0, 0, 0] <= 129


@pytest.mark.parametrize("size", [(1, 1), (1, 97), (97, 1), (3, 5)])
def test_degenerate_sizes_round_trip(size):
    """Every size round-trips: at 8 bpp where the file fits, else at the smallest bpp the refusal names, which is
    then reached exactly (a 1×1 image cannot hold the headers at 8 bpp; it still encodes, at its real cost)."""
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    pixels = size[0] * size[1]
    for name in ("misc-offline", "thumb-avif"):
        codec = get_codec(name)
        target = 8.0
        try:
            data = codec.encode(image, target)
        except TargetUnreachableError as exc:
            assert exc.min_bpp > target and f"its smallest file is {exc.min_bpp:.4f} bpp" in str(exc)
            target = exc.min_bpp
            data = codec.encode(image, target)  # the smallest file the refusal named: it fits exactly
            assert 8 * len(data) / pixels == pytest.approx(exc.min_bpp, rel=1e-12)
        assert 8 * len(data) / pixels <= target + 1e-9
        decoded, used = decode_file(data)
        assert decoded.size == size and decoded.mode == "RGB" and used.name == name


def test_huge_images_are_refused_with_the_limit():
    class Huge:
        pass

    with pytest.raises(ImageInputError, match="64 MP"):
        to_rgb8(Image.new("L", (70000, 2)))
    with pytest.raises(ImageInputError, match="expected an image"):
        to_rgb8(Huge())


def test_bad_array_shapes_are_refused():
    with pytest.raises(ImageInputError, match="shape"):
        to_rgb8(np.zeros((4, 4, 2), dtype=np.uint8))
