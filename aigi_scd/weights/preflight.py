"""Check before any work starts that model weights can be had, so a build or an encode fails in a
second with one clear line instead of after minutes of library retries (or after hours of generating
the models listed before the unreachable one)."""

from __future__ import annotations

import os
from pathlib import Path

from aigi_scd.weights.loading import describe_load_failure
from aigi_scd.weights.tiny import is_tiny_repo


def looks_like_path(repo: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything with more slashes, a backslash, or starting like a path
    (``/``, ``.``, ``~``) is meant as a local folder."""
    return repo.startswith(("/", ".", "~")) or repo.count("/") > 1 or "\\" in repo


def unreachable_reason(repo: str, revision: str | None = None) -> str | None:
    """None when `repo` is a tiny builder, a local folder, in the hub cache or reachable on the hub;
    otherwise why it cannot be loaded."""
    if is_tiny_repo(repo) or Path(repo).exists():
        return None
    if looks_like_path(repo):
        tilde = "; write the full path, ~ is not expanded" if repo.startswith("~") else ""
        return f"the local folder {repo} does not exist (a hub id is `org/name`{tilde})"
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
