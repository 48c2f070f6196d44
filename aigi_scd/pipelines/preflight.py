"""Check before any work starts that every card's weights can be had, so a build fails in a second
instead of after hours of generating the models listed before the unreachable one."""

from __future__ import annotations

import os
from pathlib import Path

from aigi_scd.pipelines.card import ModelCard
from aigi_scd.pipelines.loading import describe_load_failure, unavailable_error


def check_available(card: ModelCard) -> None:
    """Raise ModelUnavailableError if `card`'s repo is neither tiny, a local folder, cached, nor reachable."""
    if card.is_tiny:
        return
    if Path(card.repo).exists():
        if not (Path(card.repo) / "model_index.json").is_file():
            raise unavailable_error(
                card, f"the local folder {card.repo} has no model_index.json (not a diffusers pipeline)"
            )
        return
    from huggingface_hub import model_info, try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(card.repo, "model_index.json", revision=card.revision)
    except Exception:
        cached = None
    if isinstance(cached, str):
        return
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise unavailable_error(card, "HF_HUB_OFFLINE is set and the weights are not in the local cache")
    try:
        model_info(card.repo, revision=card.revision, timeout=15)
    except Exception as exc:
        raise unavailable_error(card, describe_load_failure(exc)) from exc
