"""Filters: decide which generated images are good enough to keep, and record why."""

from aigi_scd.filters.base import Candidate, Filter, FilterResult, ShardStep, run_chain
from aigi_scd.filters.technical import (
    Colourfulness,
    Decodable,
    Entropy,
    Exposure,
    MinSize,
    NotBlack,
    NotBlank,
    NotNoise,
    Sharpness,
)

__all__ = [
    "Candidate",
    "Colourfulness",
    "Decodable",
    "Entropy",
    "Exposure",
    "Filter",
    "FilterResult",
    "MinSize",
    "NotBlack",
    "NotBlank",
    "NotNoise",
    "ShardStep",
    "Sharpness",
    "run_chain",
]
