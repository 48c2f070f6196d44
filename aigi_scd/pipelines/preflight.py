"""Check before a build starts that every card's weights can be had (see :mod:`aigi_scd.weights.preflight`)."""

from __future__ import annotations

from pathlib import Path

from aigi_scd.pipelines.card import ModelCard
from aigi_scd.weights.preflight import unreachable_reason


def check_available(card: ModelCard) -> None:
    """Raise ModelUnavailableError if `card`'s weights can be had neither locally nor from the hub."""
    from aigi_scd.pipelines.loading import unavailable_error

    if Path(card.repo).exists() and not (Path(card.repo) / "model_index.json").is_file():
        raise unavailable_error(card, f"the local folder {card.repo} has no model_index.json (not a diffusers folder)")
    reason = unreachable_reason(card.repo, card.revision)
    if reason:
        raise unavailable_error(card, reason)
