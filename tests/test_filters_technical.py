"""The offline preset rejects crafted broken images, each by the expected filter with its reason, and
keeps natural photographs (issue 4 acceptance 1)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import kodak_dir
from PIL import Image, ImageFilter

from aigi_scd.dataset.png import encode_png
from aigi_scd.filters import Candidate, Decodable
from aigi_scd.filters.preset import load_filter_preset


def candidate(pixels, key="k", problem=None):
    return Candidate(key, encode_png(pixels) if pixels is not None else None, pixels, None, problem)


def judge(candidates, preset="offline"):
    """Run a preset over `candidates` as one shard; key → (rejecting filter, reason) or None when kept."""
    chain = load_filter_preset(preset)
    chain.prepare("cpu")
    chain.score(candidates)
    chain.decide(candidates)
    return {c.key: (c.rejected_by.name, c.rejected_by.reason) if c.rejected_by else None for c in candidates}


def kodak(index: int, box=(128, 256, 384, 512)) -> np.ndarray:
    """A 256×256 crop (rows 128-384, columns 256-512) of Kodak image `index` (0-23)."""
    path = sorted(kodak_dir().glob("*.png"))[index]
    top, left, bottom, right = box
    return np.asarray(Image.open(path).convert("RGB"))[top:bottom, left:right]


def blur(pixels, radius):
    return np.asarray(Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(radius)))


def jpeg(pixels, quality=85):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


CRAFTED = {
    # key: (expected filter, words its reason must contain)
    "blank": ("not_blank", "near-constant"),
    "black": ("not_black", "all black"),
    "noise": ("noise", "pure noise"),
    "blurred": ("sharpness", "blurred"),
    "tiny": ("min_size", "too small"),
    "overexposed": ("exposure", "clipped to white"),
    "underexposed": ("exposure", "clipped to black"),
    "two-tone": ("entropy", "entropy"),
    "noisy-photo": ("noise_level", "noisy: estimated noise σ"),
    "near-blank": ("detail", "near-blank"),
    "nan": ("decodable", "non-finite"),
    "duplicate": ("dedup", "near-duplicate of original"),
}


def near_blank_page(rng: np.random.Generator) -> np.ndarray:
    """A grey page lit unevenly, with a dozen short pencil marks: what a generator made of the prompt "marks:" in a
    real AIGI set. Its gradient and marks pass not_blank, sharpness and entropy; almost none of it has detail."""
    y, x = np.mgrid[0:256, 0:256]
    page = 185 + 25 * (x + y) / 510 + rng.normal(0, 0.6, (256, 256))
    for _ in range(12):
        r, c = rng.integers(20, 236, 2)
        page[r : r + 2, c : c + int(rng.integers(6, 18))] -= 90
    return np.repeat(np.clip(page, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def crafted_images() -> list[Candidate]:
    rng = np.random.default_rng(0)
    photo = kodak(2)
    tiles = np.kron(rng.integers(0, 2, (16, 16)), np.ones((16, 16))).astype(bool)
    return [
        candidate(photo, "original"),
        candidate(np.full((256, 256, 3), 128, np.uint8), "blank"),
        candidate(np.zeros((256, 256, 3), np.uint8), "black"),
        candidate(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), "noise"),
        candidate(blur(kodak(0), 4), "blurred"),
        candidate(kodak(3)[:32, :32], "tiny"),
        candidate(np.clip(kodak(0).astype(int) + 200, 0, 255).astype(np.uint8), "overexposed"),
        candidate(np.concatenate([np.zeros((256, 154, 3), np.uint8), kodak(6)[:, :102]], axis=1), "underexposed"),
        candidate(np.where(tiles[..., None], [40, 90, 160], [200, 180, 60]).astype(np.uint8), "two-tone"),
        candidate(np.clip(kodak(5) + rng.normal(0, 30, (256, 256, 3)), 0, 255).astype(np.uint8), "noisy-photo"),
        candidate(near_blank_page(rng), "near-blank"),
        candidate(None, "nan", problem="pipeline output has 12 non-finite values"),
        candidate(jpeg(photo), "duplicate"),  # a re-encoding of the first image: a near-duplicate
    ]


def test_crafted_images_are_rejected_by_the_expected_filter_with_its_reason():
    got = judge(crafted_images())
    assert got["original"] is None
    for key, (expected, words) in CRAFTED.items():
        assert got[key] is not None, f"{key} was kept"
        name, reason = got[key]
        assert name == expected, f"{key}: rejected by {name} ({reason}), expected {expected}"
        assert words in reason, f"{key}: reason {reason!r} lacks {words!r}"


def test_a_rejected_image_carries_every_score_up_to_its_rejection():
    images = crafted_images()
    judge(images)
    blurred = next(c for c in images if c.key == "blurred")
    names = [r.name for r in blurred.results]
    assert names == ["decodable", "min_size", "not_black", "not_blank", "exposure", "noise", "sharpness"]
    assert [r.passed for r in blurred.results] == [True] * 6 + [False]
    assert blurred.results[-1].score < 10.0


def test_kodak_photographs_pass_the_offline_preset():
    images = [candidate(kodak(i), f"kodim{i + 1:02d}") for i in range(24)]
    images += [candidate(kodak(i, (0, 0, 256, 256)), f"kodim{i + 1:02d}-corner") for i in range(24)]
    got = judge(images)
    assert {k: v for k, v in got.items() if v is not None} == {}
    for c in images:
        assert all(r.passed for r in c.results) and len(c.results) == len(load_filter_preset("offline").names)


def test_kodak_full_frames_pass_the_offline_preset():
    images = [candidate(np.asarray(Image.open(p).convert("RGB")), p.stem) for p in sorted(kodak_dir().glob("*.png"))]
    assert set(judge(images).values()) == {None}


def test_corrupt_png_is_not_decodable():
    pixels = np.full((8, 8, 3), 7, np.uint8)
    bad = Candidate("x", encode_png(pixels)[:40], pixels)
    assert Decodable()([bad])[0].reason.startswith("PNG does not decode")


def test_png_encoding_is_lossless_and_deterministic():
    pixels = np.random.default_rng(1).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    assert encode_png(pixels) == encode_png(pixels.copy())
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(pixels)))), pixels)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{type: exposure, max_clipped: 2}", "max_clipped is a fraction"),
        ("{type: noise, min_correlation: 3}", "min_correlation is a correlation"),
        ("{type: min_size, min_side: 0}", "min_side must be at least 1"),
        ("{type: dedup, max_distance: 64}", "max_distance is a number of bits"),
    ],
)
def test_bad_technical_settings_are_refused_when_the_preset_loads(tmp_path, entry, message):
    from aigi_scd.errors import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text(f"filters:\n  - type: decodable\n  - {entry}\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_filter_preset(str(path))
    assert str(path) in str(info.value) and "filters[1]" in str(info.value)


def test_entropy_matches_pyiqa_entropy():
    """The histogram entropy equals pyiqa's one-hot `entropy` metric (which needs ~2 GB per megapixel)."""
    import pyiqa
    import torch

    from aigi_scd.filters import Entropy

    metric = pyiqa.create_metric("entropy", device="cpu")
    images = [c for c in crafted_images() if c.pixels is not None]
    ours = [r.score for r in Entropy()(images)]
    for c, score in zip(images, ours, strict=True):
        tensor = torch.from_numpy(np.array(c.pixels)).permute(2, 0, 1)[None].float() / 255.0
        assert score == pytest.approx(float(metric(tensor)), abs=1e-3), c.key


def test_colourfulness_is_recorded_and_can_reject_greyscale():
    from aigi_scd.filters import Colourfulness

    grey = np.repeat(kodak(1)[..., :1], 3, axis=2)
    images = [candidate(grey, "grey"), candidate(kodak(2), "colour")]
    recorded = Colourfulness()(images)
    assert [r.passed for r in recorded] == [True, True]
    assert recorded[0].score == 0.0 and recorded[1].score > 15  # Hasler & Süsstrunk: greyscale is 0
    strict = Colourfulness(min_colourfulness=5.0)(images)
    assert [r.passed for r in strict] == [False, True] and "too little colour" in strict[0].reason


def test_the_fast_scores_equal_their_textbook_formulas_in_float64():
    """Colourfulness (integer sums), the noise autocorrelation (float32 with float64 sums) and the grey-level
    scores (grey levels computed once per image) equal the plain float64 formulas, on photographs and on the
    extremes that would overflow narrow integers (r = g = 255, b = 0 gives 2·yb = 510)."""
    from aigi_scd.filters import Colourfulness, NotBlack, NotBlank, NotNoise

    extremes = np.zeros((40, 60, 3), np.uint8)
    extremes[:20, :, :2] = 255  # yellow: 2·yb = +510
    extremes[20:, :, 2] = 255  # blue: 2·yb = -510
    extremes[::2, ::3, 0] = 255  # and some red: r - g = +255
    noise = np.random.default_rng(7).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    for name, pixels in [("kodak", kodak(3)), ("extremes", extremes), ("noise", noise)]:
        rgb = pixels.astype(np.float64)
        rg, yb = rgb[..., 0] - rgb[..., 1], 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
        expected_colour = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        grey = rgb @ np.array([0.299, 0.587, 0.114])
        d = grey - grey.mean()
        expected_noise = min((d[:, 1:] * d[:, :-1]).mean(), (d[1:] * d[:-1]).mean()) / (d * d).mean()
        c = candidate(pixels, name)
        assert Colourfulness()([c])[0].score == pytest.approx(expected_colour, rel=1e-12), name
        assert NotNoise()([c])[0].score == pytest.approx(expected_noise, rel=1e-5), name
        assert NotBlack()([c])[0].score == pytest.approx(grey.mean(), rel=1e-6), name
        assert NotBlank()([c])[0].score == pytest.approx(grey.std(), rel=1e-5), name


def test_a_chain_names_the_modules_its_worker_pool_imports_once():
    """The build's host pool preloads what making the chain imports (pyiqa for an IQA filter) in its fork
    server, so workers do not each import it; a chain without one asks for nothing more."""
    from aigi_scd.build.host_work import HostPlan
    from aigi_scd.filters.chain import FilterChain
    from aigi_scd.filters.technical import Decodable as DecodableStep

    offline = load_filter_preset("offline")  # ends with PIQE, a pyiqa metric
    assert HostPlan.for_chain(offline, "cuda").preload() == ("aigi_scd.build.host_work", "pyiqa")
    plain = FilterChain.from_steps("plain", [DecodableStep()], "", None)
    assert HostPlan.for_chain(plain, "cpu").preload() == ("aigi_scd.build.host_work",)
