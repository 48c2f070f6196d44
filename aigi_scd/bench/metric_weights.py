"""Load a pyiqa metric from cached weights first, and name the weights when they cannot be had.

pyiqa fetches a learned metric's weights on first use, often from two places (a timm or torchvision backbone
through the Hugging Face hub, then pyiqa's own checkpoint). Without a network huggingface_hub retries each
file for about a minute and the error says neither which file nor which metric. So the metric is first built
with the hub in offline mode (instant when everything is cached); when something is missing, one quick check
of the hub decides between downloading it now and stopping with one line that names every weight file.
"""

from __future__ import annotations

import contextlib
import importlib
import re
from typing import Any

from aigi_scd.errors import ModelUnavailableError

_URL = re.compile(r"https?://[^\s'\"<>)]+")
_HUB_FILE = re.compile(r"https?://[^/]+/(?P<repo>[^/]+/[^/]+)/resolve/[^/]+/(?P<file>\S+)")


@contextlib.contextmanager
def hub_offline():
    """huggingface_hub's offline mode (HF_HUB_OFFLINE) for the duration of the block."""
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def urls_in(exc: BaseException) -> list[str]:
    """Every URL named by `exc` and the exceptions it was raised from, in order, without repeats."""
    found: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for url in _URL.findall(str(exc)):
            if url not in found:
                found.append(url.rstrip(".,:;"))
        exc = exc.__cause__ or exc.__context__
    return found


def pyiqa_checkpoints(name: str) -> list[str]:
    """The URLs of pyiqa's own checkpoint for metric `name` (empty for weight-free metrics)."""
    try:
        from pyiqa.archs import ARCH_REGISTRY
        from pyiqa.default_model_configs import DEFAULT_CONFIGS

        options = DEFAULT_CONFIGS[name]["metric_opts"]
        module = importlib.import_module(ARCH_REGISTRY.get(options["type"]).__module__)
        urls = getattr(module, "default_model_urls", {})
        key = options.get("model_name") or options.get("pretrained_model_path")
        if key in urls:
            return [urls[key]]
        return [url for url in urls.values()][:1] if len(urls) == 1 else []
    except Exception:  # pyiqa's layout is not an API: without it, the message names what the error named
        return []


def describe_weights(urls: list[str]) -> str:
    """``repo (file)`` for hub files, the URL for anything else."""
    parts = []
    for url in urls:
        match = _HUB_FILE.match(url)
        parts.append(f"{match['repo']} ({match['file']})" if match else url)
    return ", ".join(dict.fromkeys(parts))


def unavailable(name: str, urls: list[str], reason: str, alternative: str) -> ModelUnavailableError:
    weights = describe_weights(urls)
    what = f"weights that are not on this machine: {weights}" if weights else "weights that are not on this machine"
    return ModelUnavailableError(f"metric {name!r} needs {what} ({reason}); {alternative}")


def create_pyiqa_metric(name: str, device: Any, alternative: str, **options: Any):
    """``pyiqa.create_metric(name, **options)``, from cached weights when they are all there; otherwise downloading them
    when the hub answers, or ModelUnavailableError naming the weights and `alternative` when it does not."""
    import pyiqa

    from aigi_scd.weights.preflight import unreachable_reason

    try:
        with hub_offline():
            return pyiqa.create_metric(name, device=device, **options)
    except OSError as exc:  # hub (offline mode), urllib and requests errors are all OSErrors
        missing = urls_in(exc)
    urls = list(dict.fromkeys([*missing, *pyiqa_checkpoints(name)]))
    repos = [m["repo"] for m in (_HUB_FILE.match(u) for u in missing) if m]
    reason = next((r for r in (unreachable_reason(repo) for repo in repos) if r), None) if repos else None
    if repos and reason is None:
        try:
            return pyiqa.create_metric(name, device=device, **options)
        except OSError as exc:
            raise unavailable(name, urls, " ".join(str(exc).split())[:160], alternative) from None
    raise unavailable(name, urls, reason or "they cannot be downloaded from here", alternative)
