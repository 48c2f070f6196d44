"""Check before a build starts that every card's weights can be had (see :mod:`aigi_scd.weights.preflight`)."""

from __future__ import annotations

from pathlib import Path

from aigi_scd.errors import ConfigError
from aigi_scd.pipelines.card import ModelCard
from aigi_scd.weights.preflight import looks_like_path, unreachable_reason


def check_available(card: ModelCard) -> None:
    """Raise ModelUnavailableError if `card`'s weights can be had neither locally nor from the hub, and
    ConfigError for a card whose local folder is missing or whose ``call.extra`` its pipeline does not take."""
    from aigi_scd.pipelines.loading import check_call_arguments, pipeline_class, unavailable_error

    if card.pipeline is not None:  # else the class is known only once model_index.json is read (load_pipeline)
        check_call_arguments(card, pipeline_class(card))
    if looks_like_path(card.repo) and not Path(card.repo).exists():
        tilde = " (write the full path: ~ is not expanded)" if card.repo.startswith("~") else ""
        raise ConfigError(
            f"{card.source or card.name}: repo: the local folder {card.repo} does not exist{tilde}; point repo: at a "
            "diffusers folder (one with model_index.json) or give a hub id such as org/name"
        )
    if Path(card.repo).exists() and not (Path(card.repo) / "model_index.json").is_file():
        raise unavailable_error(card, f"the local folder {card.repo} has no model_index.json (not a diffusers folder)")
    reason = unreachable_reason(card.repo, card.revision)
    if reason:
        raise unavailable_error(card, reason)
