"""Tiny random-weight models built offline and saved with ``save_pretrained``: the registry and the cache.

A ``repo`` of the form ``tiny:<builder>`` (in a model card or a codec preset) names one of
:data:`TINY_BUILDERS`. The first use builds the model from small configs of the real architecture
(same classes as the real repo) with seeded random weights and offline-trained tokenizers, and saves
it into the cache; from then on it is an ordinary local folder that ``from_pretrained`` loads exactly
as it loads a hub repo. The builders live beside the stage that uses them (diffusers pipelines in
:mod:`aigi_scd.pipelines.tiny_builders`, the codec's models in :mod:`aigi_scd.codec.misc.tiny_models`) and
are named here as strings, imported only when asked for, so this module depends on neither stage.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import pkgutil
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from aigi_scd.dataset.files import ensure_dir, unwritable
from aigi_scd.weights import offline_tokenizers
from aigi_scd.weights.offline_tokenizers import tiny_corpus

TINY_PREFIX = "tiny:"
# Bump when a builder changes in a way that changes the weights it writes.
BUILDER_VERSION = 1

# Builder name → "module:function" of a function returning an object with ``save_pretrained(folder)``.
TINY_BUILDERS: dict[str, str] = {
    "sd15": "aigi_scd.pipelines.tiny_builders:build_sd15",
    "sd21": "aigi_scd.pipelines.tiny_builders:build_sd21",
    "sdxl": "aigi_scd.pipelines.tiny_builders:build_sdxl",
    "ssd-1b": "aigi_scd.pipelines.tiny_builders:build_ssd_1b",
    "playground-v25": "aigi_scd.pipelines.tiny_builders:build_playground_v25",
    "pixart-sigma": "aigi_scd.pipelines.tiny_builders:build_pixart_sigma",
    "sd3": "aigi_scd.pipelines.tiny_builders:build_sd3",
    "flux-schnell": "aigi_scd.pipelines.tiny_builders:build_flux_schnell",
    "kandinsky3": "aigi_scd.pipelines.tiny_builders:build_kandinsky3",
    "qwen2.5-vl": "aigi_scd.codec.misc.tiny_models:build_qwen25_vl",
    "clipseg": "aigi_scd.codec.misc.tiny_models:build_clipseg",
}
COMPLETE_MARKER = ".aigi-scd-complete"


def seeded(seed: int) -> None:
    """Seed torch's global generator before creating one component, so every build gives the same weights."""
    import torch

    torch.manual_seed(seed)


def _builder(name: str) -> Callable:
    module, function = TINY_BUILDERS[name].split(":")
    return getattr(importlib.import_module(module), function)


def is_tiny_repo(repo: str) -> bool:
    return repo.startswith(TINY_PREFIX)


def check_tiny_repo(repo: str) -> None:
    """ConfigError for a ``tiny:<builder>`` repo whose builder does not exist (at card or preset load, before
    any work), naming the builders that do."""
    from aigi_scd.errors import ConfigError

    builder = repo[len(TINY_PREFIX) :]
    if is_tiny_repo(repo) and builder not in TINY_BUILDERS:
        known = ", ".join(TINY_PREFIX + name for name in sorted(TINY_BUILDERS))
        raise ConfigError(f"unknown tiny model {repo!r}; the tiny builders are: {known}")


def default_cache_dir() -> Path:
    """``$AIGI_SCD_CACHE`` or ``~/.cache/aigi-scd``: where tiny models are built once and kept."""
    root = os.environ.get("AIGI_SCD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "aigi-scd")
    return Path(root)


def _sources(module_name: str) -> list[str]:
    """The source of a builder's module, and of every module in it when it is a package."""
    module = importlib.import_module(module_name)
    sources = [inspect.getsource(module)]
    for info in sorted(pkgutil.iter_modules(getattr(module, "__path__", [])), key=lambda i: i.name):
        sources.append(inspect.getsource(importlib.import_module(f"{module_name}.{info.name}")))
    return sources


def builder_fingerprint(builder: str) -> str:
    """Changes whenever what the builder writes could change: its code, the tokenizer learner, the corpus, the
    version."""
    payload = json.dumps(
        {
            "builder": builder,
            "version": BUILDER_VERSION,
            "source": _sources(TINY_BUILDERS[builder].split(":")[0]),
            "tokenizers": inspect.getsource(offline_tokenizers),
            "corpus": tiny_corpus(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def ensure_tiny(repo: str, cache_dir: Path | None = None) -> Path:
    """Build the tiny model named by `repo` (``tiny:<builder>``) into the cache once; return its folder.

    The folder appears atomically (built in a temporary sibling, then renamed), so a killed build
    leaves no half-written model behind.
    """
    check_tiny_repo(repo)
    builder = repo[len(TINY_PREFIX) :]
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / "tiny" / f"{builder}-{builder_fingerprint(builder)}"
    if (target / COMPLETE_MARKER).is_file():
        return target
    fix = "choose another --cache-dir (or AIGI_SCD_CACHE) with room for the tiny models (a few MB)"
    ensure_dir(target.parent, fix)
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{builder}-", dir=target.parent))
        _builder(builder)().save_pretrained(staging)
        (staging / COMPLETE_MARKER).write_text(builder + "\n")
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / COMPLETE_MARKER).is_file():  # lost a race to a concurrent build: fine
                raise
    except OSError as exc:  # full, read-only or forbidden cache: one line, nothing half-built left
        raise unwritable(exc.filename or target.parent, exc, fix) from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_location(repo: str, cache_dir: Path | None = None) -> str:
    """Where to load `repo` from: a tiny builder's cache folder for ``tiny:`` repos, else the repo itself."""
    return str(ensure_tiny(repo, cache_dir)) if is_tiny_repo(repo) else repo
