"""The score ranges behind the offline preset's thresholds (filters/README.md): every weight-free score on
the Kodak photographs (full frames and 256-pixel top-left crops), the tiny pipelines' images and crafted
failures.

    python benchmarks/filter_scores.py [--kodak ../shared/data/kodak] [--tiny-prompts 6]
"""

from __future__ import annotations

import argparse
import io
import itertools
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from aigi_scd.dataset.png import encode_png
from aigi_scd.filters import Candidate, Entropy, Exposure, NotBlank, NotNoise, Sharpness
from aigi_scd.filters.dedup import phash
from aigi_scd.filters.iqa import IqaFilter
from aigi_scd.filters.texture import Detail, NoiseLevel

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
SCORES = {
    "grey std": NotBlank(),
    "lag-1 autocorrelation": NotNoise(),
    "variance of the Laplacian": Sharpness(),
    "clipped fraction": Exposure(),
    "entropy (bits)": Entropy(),
    "noise σ": NoiseLevel(),
    "detail fraction": Detail(),
    "PIQE": IqaFilter("piqe"),
}


def tiny_images(prompts: int) -> list[np.ndarray]:
    from aigi_scd.build.run import BuildConfig, Runtime, build
    from aigi_scd.dataset.shards import iter_samples
    from aigi_scd.filters.chain import FilterChain
    from aigi_scd.filters.technical import Decodable
    from aigi_scd.pipelines.card import load_cards
    from aigi_scd.prompts import load_suite, select_prompts

    out = Path(tempfile.mkdtemp()) / "tiny"
    config = BuildConfig(
        load_cards("tiny-sdxl,tiny-pixart"),
        select_prompts(load_suite("starter"), prompts, 0),
        "starter",
        0,
        filters=FilterChain("decodable-only", [Decodable()]),
    )
    build(config, out, Runtime(progress=False))
    return [
        np.asarray(Image.open(io.BytesIO(s["png"])).convert("RGB"))
        for tar in sorted(out.glob("data/*/train-*.tar"))
        for s in iter_samples(tar)
    ]


def crafted(kodak: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    crops = [k[:256, :256] for k in kodak]
    tiles = np.kron(rng.integers(0, 2, (16, 16)), np.ones((16, 16))).astype(bool)
    return {
        "constant": [np.full((256, 256, 3), 128, np.uint8)],
        "uniform noise": [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)],
        "Gaussian noise σ=20": [np.clip(rng.normal(128, 20, (256, 256, 3)), 0, 255).astype(np.uint8)],
        "blur σ=3": [np.asarray(Image.fromarray(c).filter(ImageFilter.GaussianBlur(3))) for c in crops],
        "two tones": [np.where(tiles[..., None], [40, 90, 160], [200, 180, 60]).astype(np.uint8)],
        "photo + Gaussian noise σ=30": [noisy(c, rng) for c in crops],
        "near-blank page": [near_blank_page(np.random.default_rng(seed)) for seed in range(8)],
    }


def noisy(pixels: np.ndarray, rng: np.random.Generator, sigma: float = 30) -> np.ndarray:
    return np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255).astype(np.uint8)


def near_blank_page(rng: np.random.Generator) -> np.ndarray:
    """A grey page lit unevenly with a dozen short pencil marks (tests/test_filters_technical.py makes the same)."""
    y, x = np.mgrid[0:256, 0:256]
    page = 185 + 25 * (x + y) / 510 + rng.normal(0, 0.6, (256, 256))
    for _ in range(12):
        r, c = rng.integers(20, 236, 2)
        page[r : r + 2, c : c + int(rng.integers(6, 18))] -= 90
    return np.repeat(np.clip(page, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def describe(label: str, images: list[np.ndarray]) -> None:
    cands = [Candidate(str(i), encode_png(p), p) for i, p in enumerate(images)]
    parts = []
    for name, filt in SCORES.items():
        scores = [r.score for r in filt(cands)]
        parts.append(f"{name} {min(scores):.3g}–{max(scores):.3g}")
    print(f"{label} ({len(images)}): " + "; ".join(parts))


def distances(images: list[np.ndarray]) -> list[int]:
    hashes = [int(phash(p), 16) for p in images]
    return [bin(a ^ b).count("1") for a, b in itertools.combinations(hashes, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--tiny-prompts", type=int, default=6)
    args = parser.parse_args()
    kodak = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(args.kodak.glob("*.png"))]
    describe("Kodak full frames", kodak)
    describe("Kodak 256-px crops", [k[:256, :256] for k in kodak])
    describe("Kodak 256-px centre crops", [k[128:384, 256:512] for k in kodak])
    tiny = tiny_images(args.tiny_prompts)
    describe("tiny pipelines", tiny)
    for label, images in crafted(kodak).items():
        describe(label, images)
    print(f"pHash distance between different Kodak images: min {min(distances(kodak))}")
    print(f"pHash distance between different tiny images: min {min(distances(tiny))}")
    photo = Image.fromarray(kodak[0])
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=75)
    variants = [np.asarray(Image.open(buffer).convert("RGB")), np.asarray(photo.resize((384, 256)))]
    print(f"pHash distance to its JPEG and half-size copies: {distances([kodak[0], *variants])[:2]}")


if __name__ == "__main__":
    main()
