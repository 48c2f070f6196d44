"""Check before any work starts that model weights can be had, so a build or an encode fails in a
second with one clear line instead of after minutes of library retries (or after hours of generating
the models listed before the unreachable one)."""

from __future__ import annotations

import os
from pathlib import Path

from aigi_scd.pipelines.card import ModelCard


def unreachable_reason(repo: str, revision: str | None = None) -> str | None:
    """None when `repo` is a tiny builder, a local folder, in the hub cache or reachable on the hub;
    otherwise why it cannot be loaded."""
    from aigi_scd.pipelines.loading import describe_load_failure

    if repo.startswith("tiny:") or Path(repo).exists():
        return None
    from huggingface_hub import model_info, try_to_load_from_cache

    for marker in ("model_index.json", "config.json"):
        try:
            if isinstance(try_to_load_from_cache(repo, marker, revision=revision), str):
                return None
        except Exception:
            continue
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set and the weights are not in the local cache"
    try:
        model_info(repo, revision=revision, timeout=15)
    except Exception as exc:
        return describe_load_failure(exc)
    return None


def check_available(card: ModelCard) -> None:
    """Raise ModelUnavailableError if `card`'s weights can be had neither locally nor from the hub."""
    from aigi_scd.pipelines.loading import unavailable_error

    if Path(card.repo).exists() and not (Path(card.repo) / "model_index.json").is_file():
        raise unavailable_error(card, f"the local folder {card.repo} has no model_index.json (not a diffusers folder)")
    reason = unreachable_reason(card.repo, card.revision)
    if reason:
        raise unavailable_error(card, reason)
