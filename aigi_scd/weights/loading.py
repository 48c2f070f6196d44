"""Load a transformers or diffusers model from a hub id, a local folder or a tiny builder, and turn every
way of not getting its weights (offline, gated, missing, wrong path) into one ModelUnavailableError line."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from aigi_scd.errors import ModelUnavailableError
from aigi_scd.weights.tiny import resolve_location

T = TypeVar("T")
# Exceptions from these libraries' network layers mean "no weights here", whatever their class.
HUB_ERROR_MODULES = ("huggingface_hub", "requests", "httpx", "urllib3")


def quiet_libraries() -> None:
    """Silence library chatter (weight-loading bars, optional-kernel warnings); aigi-scd shows its own progress."""
    # diffusers' auto pipelines import Kolors, whose module uses the deprecated torch.jit.script
    warnings.filterwarnings("ignore", message=r"`torch.jit.script` is deprecated", category=FutureWarning)
    import diffusers
    import transformers

    for lib in (diffusers, transformers):
        lib.utils.logging.set_verbosity_error()
        lib.utils.logging.disable_progress_bar()
    for name in ("bitsandbytes", "huggingface_hub", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)


def describe_load_failure(exc: BaseException) -> str:
    """A short human reason for a failed model load (offline, gated, missing), else the library's words."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    offline_signs = (
        "not fully cached",
        "outgoing traffic has been disabled",
        "couldn't connect",
        "name or service not known",
        "temporary failure in name resolution",
        "connecterror",
        "failed to resolve",
        "network is unreachable",
        "connection refused",
        "timed out",
    )
    if any(sign in lowered for sign in offline_signs) or type(exc).__name__ in ("ConnectError", "ConnectionError"):
        return "no connection to the Hugging Face hub and the weights are not in the local cache"
    if "gated" in lowered or type(exc).__name__ == "GatedRepoError":
        return "the repository is gated and this machine has no access to it"
    if type(exc).__name__ == "RepositoryNotFoundError":
        return "no such repository on the hub (or it is private)"
    return text[:300]


def is_load_failure(exc: BaseException) -> bool:
    """Whether `exc` from ``from_pretrained`` means the weights could not be had (not a bug in our code)."""
    return isinstance(exc, (OSError, ValueError)) or type(exc).__module__.startswith(HUB_ERROR_MODULES)


def call_loader(loader: Callable[[], T], explain: Callable[[str], ModelUnavailableError]) -> T:
    """``loader()``; a failure to get the weights becomes ``explain(reason)``, raised from the original."""
    try:
        return loader()
    except Exception as exc:
        if is_load_failure(exc):
            raise explain(describe_load_failure(exc)) from exc
        raise


def load_model_or_explain(loader, repo: str, role: str, alternative: str, cache_dir: Path | None = None):
    """``loader(location)`` for a transformers/diffusers model; failures to get the weights become one
    ModelUnavailableError naming `role`, the repo and `alternative` (what to do instead)."""
    from aigi_scd.weights.preflight import unreachable_reason

    def explain(reason: str) -> ModelUnavailableError:
        return ModelUnavailableError(f"cannot load the {role} {repo!r}: {reason}. {alternative}")

    quiet_libraries()
    reason = unreachable_reason(repo)
    if reason:
        raise explain(reason)
    location = resolve_location(repo, cache_dir)
    return call_loader(lambda: loader(location), explain)


def load_transformers(
    repo: str, model_class: str, role: str, alternative: str, device: str, dtype: str | None = None
) -> tuple[Any, Any, str]:
    """(processor, model in eval mode on its device, device) for a transformers model folder or hub repo,
    loaded through :func:`load_model_or_explain` (tiny repos built on first use; one line without weights)."""
    import transformers

    from aigi_scd.weights.device import pick_device, pick_dtype

    device = pick_device(device)
    kwargs = {} if dtype is None else {"dtype": pick_dtype("bfloat16", device, dtype)}

    def load(location: str):
        processor = transformers.AutoProcessor.from_pretrained(location)
        # device_map puts the weights straight on the device (no full copy staged in CPU memory first)
        model = getattr(transformers, model_class).from_pretrained(location, device_map=device, **kwargs).eval()
        return processor, model

    processor, model = load_model_or_explain(load, repo, role, alternative)
    return processor, model, device


class LazyTransformersModel:
    """A transformers processor and model loaded on first use (a codec built only to decode never loads the
    encoder's models). Subclasses name the model class, their role and what to do without the weights;
    `config` supplies ``device`` and, optionally, ``dtype``."""

    model_class: ClassVar[str]
    role: ClassVar[str]
    alternative: ClassVar[str]

    def __init__(self, model: str, config: Any):
        self.repo = model
        self.config = config
        self._loaded: tuple[Any, Any, str] | None = None

    def loaded(self) -> tuple[Any, Any, str]:
        """(processor, model, device), loading them the first time."""
        if self._loaded is None:
            dtype = getattr(self.config, "dtype", None)
            self._loaded = load_transformers(
                self.repo, self.model_class, self.role, self.alternative, self.config.device, dtype
            )
        return self._loaded
