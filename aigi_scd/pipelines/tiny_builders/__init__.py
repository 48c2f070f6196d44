"""Builders of tiny random-weight diffusers pipelines, one per family with a card (``tiny:<builder>`` repos).

Each builds the real repository's pipeline, model and scheduler classes from small configs, with seeded
random weights and offline-learned tokenizers. :mod:`aigi_scd.weights.tiny` calls them once and saves the
result with ``save_pretrained``; ``from_pretrained`` then loads that folder exactly as it loads a hub
repo. Nothing here is used for real cards. The builders' source (this package, every module) is part of
the cache fingerprint, so editing any of them rebuilds the tiny pipelines.
"""

from __future__ import annotations

from aigi_scd.pipelines.tiny_builders.transformer_families import (
    build_flux_schnell,
    build_kandinsky3,
    build_pixart_sigma,
    build_sd3,
)
from aigi_scd.pipelines.tiny_builders.unet_families import (
    build_playground_v25,
    build_sd15,
    build_sd21,
    build_sdxl,
    build_ssd_1b,
)

__all__ = [
    "build_flux_schnell",
    "build_kandinsky3",
    "build_pixart_sigma",
    "build_playground_v25",
    "build_sd15",
    "build_sd21",
    "build_sd3",
    "build_sdxl",
    "build_ssd_1b",
]
