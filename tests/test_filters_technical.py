"""The build's technical checks reject broken images with their reason and keep natural ones."""

from __future__ import annotations

import numpy as np
from conftest import kodak_dir
from PIL import Image

from aigi_scd.filters import Candidate, Decodable, NotBlank, default_chain, encode_png, run_chain


def candidate(pixels, key="k", problem=None):
    return Candidate(key, encode_png(pixels) if pixels is not None else None, pixels, None, problem)


def verdicts(candidates):
    run_chain(default_chain(), candidates)
    return [(c.rejected_by.name, c.rejected_by.reason) if c.rejected_by else None for c in candidates]


def test_broken_images_are_rejected_with_reasons():
    rng = np.random.default_rng(0)
    cands = [
        candidate(np.zeros((64, 64, 3), np.uint8), "black"),
        candidate(np.full((64, 64, 3), 128, np.uint8), "grey"),
        candidate(None, "nan", problem="pipeline output has 12 non-finite values"),
        candidate(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "noise"),
    ]
    got = dict(zip([c.key for c in cands], verdicts(cands), strict=True))
    assert got["black"][0] == "not_blank" and "all black" in got["black"][1]
    assert got["grey"][0] == "not_blank" and "near-constant" in got["grey"][1]
    assert got["nan"] == ("decodable", "pipeline output has 12 non-finite values")
    assert got["noise"] is None


def test_corrupt_png_is_not_decodable():
    pixels = np.full((8, 8, 3), 7, np.uint8)
    bad = Candidate("x", encode_png(pixels)[:40], pixels)
    assert Decodable()([bad])[0].reason.startswith("PNG does not decode")


def test_kodak_images_pass():
    images = sorted(kodak_dir().glob("*.png"))[:6]
    cands = [candidate(np.asarray(Image.open(p).convert("RGB"))[:256, :256], p.stem) for p in images]
    assert verdicts(cands) == [None] * len(cands)
    scores = [c.results[1].score for c in cands]
    assert all(s > NotBlank().min_std for s in scores)


def test_png_encoding_is_lossless_and_deterministic():
    pixels = np.random.default_rng(1).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    assert encode_png(pixels) == encode_png(pixels.copy())
    import io

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(pixels)))), pixels)
