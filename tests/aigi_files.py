"""Images and inputs for the import tests, written in the real formats: pictures with the spectrum of
natural images (so they pass the real `offline` filter preset), encoded as PNG, JPEG or WebP files, plus
readers of what an import wrote."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from aigi_scd.dataset.shards import image_field, iter_samples


def picture(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """HxWx3 uint8 noise with a 1/f^2.3 power spectrum, as natural images have (the offline preset keeps it:
    PIQE about 35, sharp, not noise-like; distinct seeds are 20+ pHash bits apart)."""
    rng = np.random.default_rng(seed)
    height, width = size
    fy, fx = np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    channels = []
    for _ in range(3):
        spectrum = (rng.normal(size=size) + 1j * rng.normal(size=size)) / radius ** (2.3 / 2)
        plane = np.real(np.fft.ifft2(spectrum))
        channels.append((plane - plane.min()) / (plane.max() - plane.min()))
    return (np.stack(channels, -1) * 255).astype(np.uint8)


def encoded(seed: int, fmt: str = "PNG", **options) -> bytes:
    """`picture(seed)` as a file of Pillow format `fmt` (PNG, JPEG, WEBP, BMP...)."""
    buffer = io.BytesIO()
    Image.fromarray(picture(seed)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def source_samples(out: Path, source: str) -> dict[str, dict]:
    """Key → {"image": stored bytes, "ext": member, "json": sample json} of every kept sample of a source."""
    found = {}
    for tar in sorted((out / "data" / source).glob("train-*.tar")):
        for sample in iter_samples(tar):
            ext = image_field(sample)
            found[sample["__key__"]] = {"image": sample[ext], "ext": ext, "json": json.loads(sample["json"])}
    return found
