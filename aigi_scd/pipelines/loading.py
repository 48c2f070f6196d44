"""Load a model card into a ready diffusers pipeline, with the same code for hub, local and tiny repos."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.dataset.sample import plain_json
from aigi_scd.errors import ConfigError, ModelUnavailableError
from aigi_scd.pipelines.card import ModelCard
from aigi_scd.weights.loading import call_loader, quiet_libraries
from aigi_scd.weights.tiny import resolve_location


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


def check_call_arguments(card: ModelCard, cls: type) -> None:
    """ConfigError for a ``call.extra`` key the pipeline's ``__call__`` does not name: diffusers would swallow it
    (its pipelines take ``**kwargs``) while every sample records it as used."""
    import inspect

    from aigi_scd.config import closest

    params = inspect.signature(cls.__call__).parameters
    named = [n for n, p in params.items() if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(card.call.extra) - set(named))
    if unknown:
        raise ConfigError(
            f"{card.source or card.name}: call.extra: {unknown[0]!r} is not an argument of {cls.__name__}"
            f"{closest(unknown[0], named)} (it would be ignored, yet recorded as used); remove it or use one of: "
            f"{', '.join(named)}"
        )


def unavailable_error(card: ModelCard, reason: str) -> ModelUnavailableError:
    where = f" (card {card.source})" if card.source else ""
    return ModelUnavailableError(
        f"cannot load model {card.name!r} from {card.repo!r}{where}: {reason}. "
        "To proceed: connect to the internet so the weights can be downloaded (gated repos also need "
        "`hf auth login` and an accepted licence), or download them and set `repo:` in a card to that "
        "local folder (pass the card file with --models), or use a tiny offline card such as tiny-sdxl or "
        "tiny-pixart."
    )


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

    Tiny cards are first built into the cache (see :mod:`aigi_scd.weights.tiny`); from there on
    the path is the same as for a hub repository.
    """
    quiet_libraries()
    import diffusers

    cls = pipeline_class(card)
    location = resolve_location(card.repo, cache_dir)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if card.variant and not card.is_tiny:
        kwargs["variant"] = card.variant
    if card.revision and not card.is_tiny and not Path(card.repo).exists():
        kwargs["revision"] = card.revision
    pipe = call_loader(lambda: cls.from_pretrained(location, **kwargs), lambda reason: unavailable_error(card, reason))
    check_call_arguments(card, type(pipe))
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
