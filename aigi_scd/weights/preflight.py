"""Check before any work starts that model weights can be had, so a build or an encode fails in a
second with one clear line instead of after minutes of library retries (or after hours of generating
the models listed before the unreachable one)."""

from __future__ import annotations

import os
from pathlib import Path

from aigi_scd.weights.loading import describe_load_failure
from aigi_scd.weights.tiny import is_tiny_repo


def unreachable_reason(repo: str, revision: str | None = None) -> str | None:
    """None when `repo` is a tiny builder, a local folder, in the hub cache or reachable on the hub;
    otherwise why it cannot be loaded."""
    if is_tiny_repo(repo) or Path(repo).exists():
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
