"""Load a model card into a ready diffusers pipeline, with the same code for hub, local and tiny repos."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.errors import ConfigError, ModelUnavailableError
from aigi_scd.pipelines.card import ModelCard
from aigi_scd.pipelines.tiny import ensure_tiny
from aigi_scd.sample import plain_json


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


@dataclass
class LoadedPipeline:
    """A pipeline on its device, and what a sample must record to be reproduced."""

    card: ModelCard
    pipe: Any
    device: str
    dtype: str
    location: str  # the folder or hub id actually loaded
    resolved_revision: str | None
    scheduler_config: dict[str, Any] = field(default_factory=dict)

    @property
    def pipeline_class(self) -> str:
        return type(self.pipe).__name__

    @property
    def scheduler_class(self) -> str:
        return type(self.pipe.scheduler).__name__

    def max_prompt_tokens(self) -> int | None:
        """The longest prompt (in tokens) the first text encoder reads; longer prompts are truncated."""
        tokenizer = getattr(self.pipe, "tokenizer", None)
        extra = self.card.call.extra.get("max_sequence_length")
        if extra:
            return int(extra)
        limit = getattr(tokenizer, "model_max_length", None)
        return int(limit) if limit and limit < 1_000_000 else None


def pipeline_class(card: ModelCard):
    """The diffusers class named by the card, or DiffusionPipeline (reads model_index.json)."""
    import diffusers

    if card.pipeline is None:
        return diffusers.DiffusionPipeline
    cls = getattr(diffusers, card.pipeline, None)
    if cls is None or not isinstance(cls, type):
        names = [n for n in dir(diffusers) if n.endswith("Pipeline")]
        import difflib

        close = difflib.get_close_matches(card.pipeline, names, n=3)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise ConfigError(
            f"{card.source}: pipeline: {card.pipeline!r} is not a class in diffusers {diffusers.__version__}{hint}"
        )
    return cls


def unavailable_error(card: ModelCard, reason: str) -> ModelUnavailableError:
    where = f" (card {card.source})" if card.source else ""
    return ModelUnavailableError(
        f"cannot load model {card.name!r} from {card.repo!r}{where}: {reason}. "
        "To proceed: connect to the internet so the weights can be downloaded (gated repos also need "
        "`hf auth login` and an accepted licence), or download them and set `repo:` in a card to that "
        "local folder (pass the card file with --models), or use a tiny offline card such as tiny-sdxl or "
        "tiny-pixart."
    )


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


def resolve_location(repo: str, cache_dir: Path | None = None) -> str:
    """Where to load `repo` from: a tiny builder's cache folder for ``tiny:`` repos, else the repo itself."""
    return str(ensure_tiny(repo, cache_dir)) if repo.startswith("tiny:") else repo


def load_model_or_explain(loader, repo: str, role: str, alternative: str, cache_dir: Path | None = None):
    """``loader(location)`` for a transformers/diffusers model; failures to get the weights become one
    ModelUnavailableError naming `role`, the repo and `alternative` (what to do instead)."""
    from aigi_scd.pipelines.preflight import unreachable_reason

    quiet_libraries()
    reason = unreachable_reason(repo)
    if reason:
        raise ModelUnavailableError(f"cannot load the {role} {repo!r}: {reason}. {alternative}")
    location = resolve_location(repo, cache_dir)
    try:
        return loader(location)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"cannot load the {role} {repo!r}: {describe_load_failure(exc)}. {alternative}"
        ) from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("huggingface_hub", "requests", "httpx", "urllib3")):
            raise ModelUnavailableError(
                f"cannot load the {role} {repo!r}: {describe_load_failure(exc)}. {alternative}"
            ) from exc
        raise


def _resolved_revision(card: ModelCard) -> str | None:
    """The hub commit actually loaded, read from the local cache's snapshot folder."""
    if card.is_tiny or Path(card.repo).exists():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(card.repo, "model_index.json", revision=card.revision)
    except Exception:  # best effort: provenance only
        return None
    if isinstance(cached, str) and "/snapshots/" in cached:
        return cached.split("/snapshots/")[1].split("/")[0]
    return None


def load_pipeline(card: ModelCard, device: str, dtype: Any, cache_dir: Path | None = None) -> LoadedPipeline:
    """Load `card` with ``from_pretrained`` on `device` in `dtype` (a torch dtype).

    Tiny cards are first built into the cache (see :mod:`aigi_scd.pipelines.tiny`); from there on
    the path is the same as for a hub repository.
    """
    quiet_libraries()
    import diffusers

    cls = pipeline_class(card)
    location = str(ensure_tiny(card.repo, cache_dir)) if card.is_tiny else card.repo
    kwargs: dict[str, Any] = {"dtype": dtype}
    if card.variant and not card.is_tiny:
        kwargs["variant"] = card.variant
    if card.revision and not card.is_tiny and not Path(card.repo).exists():
        kwargs["revision"] = card.revision
    try:
        pipe = cls.from_pretrained(location, **kwargs)
    except (OSError, ValueError) as exc:
        raise unavailable_error(card, describe_load_failure(exc)) from exc
    except Exception as exc:  # hub/network errors that subclass neither
        if type(exc).__module__.startswith(("huggingface_hub", "requests", "httpx", "urllib3")):
            raise unavailable_error(card, describe_load_failure(exc)) from exc
        raise
    if card.scheduler is not None:
        scheduler_cls = getattr(diffusers, card.scheduler.cls, None)
        if scheduler_cls is None:
            raise ConfigError(f"{card.source}: scheduler.class: {card.scheduler.cls!r} is not a diffusers scheduler")
        pipe.scheduler = scheduler_cls.from_config(pipe.scheduler.config, **card.scheduler.config)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    scheduler_config = plain_json(dict(pipe.scheduler.config))
    return LoadedPipeline(
        card=card,
        pipe=pipe,
        device=device,
        dtype=str(dtype).replace("torch.", ""),
        location=location,
        resolved_revision=_resolved_revision(card),
        scheduler_config=scheduler_config,
    )
