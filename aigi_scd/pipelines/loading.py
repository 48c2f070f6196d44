"""Load a model card into a ready diffusers pipeline, with the same code for hub, local and tiny repos.

Before loading, the card is checked against its pipeline family (sizes, call arguments) and the weights'
memory is estimated against the device's free memory; after loading, the memory options (CPU offload,
VAE tiling and slicing) are applied.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.dataset.sample import plain_json
from aigi_scd.errors import ConfigError, DeviceError, ModelUnavailableError
from aigi_scd.pipelines.card import MemoryOptions, ModelCard
from aigi_scd.pipelines.families import card_problem, encoder_limit, family
from aigi_scd.pipelines.speed import AUTO, SpeedOptions, apply_speed, probe_batch_size
from aigi_scd.weights.loading import call_loader, quiet_libraries
from aigi_scd.weights.memory import MemoryEstimate, config_folder, estimate_folder, fit_problem, free_memory
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
    memory: MemoryOptions = field(default_factory=MemoryOptions)  # as applied (offload is "none" on cpu)
    estimate: MemoryEstimate | None = None  # the weights' memory estimated before loading
    speed: SpeedOptions = field(default_factory=SpeedOptions)  # as applied; batch_size resolved to a number

    @property
    def pipeline_class(self) -> str:
        return type(self.pipe).__name__

    @property
    def scheduler_class(self) -> str:
        return type(self.pipe.scheduler).__name__

    def text_encoders(self) -> list[tuple[str, Any, int | None]]:
        """(name, tokenizer, token limit) of every text encoder the pipeline reads the prompt with.

        Known families list each encoder (SD3: CLIP-L, CLIP-G, T5); other pipelines report their first
        tokenizer, limited by the card's ``max_sequence_length`` or the tokenizer's own maximum.
        """
        extra = self.card.call.extra
        known = family(self.pipeline_class)
        if known is not None:
            found = []
            for encoder in known.text_encoders:
                tokenizer = getattr(self.pipe, encoder.tokenizer, None)
                if tokenizer is not None:  # e.g. SD3 loaded without its T5
                    found.append((encoder.name, tokenizer, encoder_limit(encoder, tokenizer, extra)))
            return found
        tokenizer = getattr(self.pipe, "tokenizer", None)
        if tokenizer is None:
            return []
        limit = extra.get("max_sequence_length") or getattr(tokenizer, "model_max_length", None)
        return [("text", tokenizer, int(limit) if limit and limit < 1_000_000 else None)]

    def max_prompt_tokens(self) -> int | None:
        """The most prompt tokens any of its text encoders reads (longer prompts are cut everywhere)."""
        limits = [limit for _, _, limit in self.text_encoders() if limit]
        return max(limits) if limits else None


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


def estimate_memory(card: ModelCard, location: str, dtype: Any) -> MemoryEstimate | None:
    """The weights' memory of `card` in `dtype`, from its configs; None when the configs cannot be had or a
    component cannot be built from its config (the check is advice: loading goes on, with a warning)."""
    folder = config_folder(location, None if card.is_tiny or Path(card.repo).exists() else card.revision)
    if folder is None:
        return None
    try:
        return estimate_folder(folder, dtype)
    except Exception as exc:  # a custom or newer component class: no estimate rather than no model
        warnings.warn(f"{card.name}: memory not estimated before loading ({type(exc).__name__}: {exc})", stacklevel=2)
        return None


def check_memory(card: ModelCard, estimate: MemoryEstimate | None, device: str, offload: str) -> None:
    """Stop with one line when the weights cannot fit `device` (or RAM) with `offload`, naming what would fit."""
    if estimate is None or not estimate.components:
        return
    ram = free_memory("cpu")
    problem = fit_problem(card.name, estimate, device, offload, free_memory(device), ram)
    if problem:
        raise DeviceError(problem)


def place(pipe: Any, card: ModelCard, device: str, memory: MemoryOptions) -> MemoryOptions:
    """Put the pipeline on `device` with the memory options; returns the options as applied."""
    offload = memory.offload if device != "cpu" else "none"  # on cpu everything already lives in RAM
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    known = family(type(pipe).__name__)
    decoder_name = known.decoder if known else "vae"
    decoder = getattr(pipe, decoder_name, None)
    for wanted, switch in ((memory.vae_tiling, "tiling"), (memory.vae_slicing, "slicing")):
        if not wanted:
            continue
        if decoder is None or not hasattr(decoder, f"use_{switch}"):
            kind = type(decoder).__name__ if decoder is not None else "no VAE"
            raise ConfigError(
                f"{card.name}: VAE {switch} is not available for its decoder ({decoder_name}: {kind}); "
                f"leave vae_{switch} off for this model"
            )
        getattr(decoder, f"enable_{switch}")()
    return MemoryOptions(offload=offload, vae_tiling=memory.vae_tiling, vae_slicing=memory.vae_slicing)


def load_pipeline(
    card: ModelCard,
    device: str,
    dtype: Any,
    cache_dir: Path | None = None,
    memory: MemoryOptions | None = None,
    speed: SpeedOptions | None = None,
) -> LoadedPipeline:
    """Load `card` with ``from_pretrained`` on `device` in `dtype` (a torch dtype), with `memory` options
    (default: the card's) and `speed` settings (default: none; ``batch_size: auto`` is measured here, before
    compiling, so the compiled graphs see the batch shape they will run).

    Tiny cards are first built into the cache (see :mod:`aigi_scd.weights.tiny`); from there on
    the path is the same as for a hub repository. The weights' memory is checked before loading.
    """
    quiet_libraries()
    import diffusers

    memory = memory or card.memory
    cls = pipeline_class(card)
    if card.pipeline is not None:
        check_call_arguments(card, cls)
    location = resolve_location(card.repo, cache_dir)
    estimate = estimate_memory(card, location, dtype)
    check_memory(card, estimate, device, memory.offload if device != "cpu" else "none")
    kwargs: dict[str, Any] = {"dtype": dtype}
    if card.variant and not card.is_tiny:
        kwargs["variant"] = card.variant
    if card.revision and not card.is_tiny and not Path(card.repo).exists():
        kwargs["revision"] = card.revision
    pipe = call_loader(lambda: cls.from_pretrained(location, **kwargs), lambda reason: unavailable_error(card, reason))
    if card.pipeline is None:  # the class came from model_index.json: check the card against it now
        check_call_arguments(card, type(pipe))
        problem = card_problem(type(pipe).__name__, card.call.width, card.call.height, card.call.extra)
        if problem:
            raise ConfigError(f"{card.source or card.name}: {problem}")
    if card.scheduler is not None:
        scheduler_cls = getattr(diffusers, card.scheduler.cls, None)
        if scheduler_cls is None:
            raise ConfigError(f"{card.source}: scheduler.class: {card.scheduler.cls!r} is not a diffusers scheduler")
        pipe.scheduler = scheduler_cls.from_config(pipe.scheduler.config, **card.scheduler.config)
    applied = place(pipe, card, device, memory)
    pipe.set_progress_bar_config(disable=True)
    scheduler_config = plain_json(dict(pipe.scheduler.config))
    loaded = LoadedPipeline(
        card=card,
        pipe=pipe,
        device=device,
        dtype=str(dtype).replace("torch.", ""),
        location=location,
        resolved_revision=_resolved_revision(card),
        scheduler_config=scheduler_config,
        memory=applied,
        estimate=estimate,
    )
    speed = speed or SpeedOptions()
    batch_size = speed.batch_size
    if batch_size == AUTO:
        batch_size = probe_batch_size(lambda n: _probe_call(loaded, n), device)
    known = family(type(pipe).__name__)
    applied_speed = apply_speed(pipe, speed, known.decoder if known else "vae", cache_dir)
    loaded.speed = SpeedOptions(
        batch_size=batch_size,
        fuse_qkv=applied_speed.fuse_qkv,
        channels_last=applied_speed.channels_last,
        compile=applied_speed.compile,
        cuda_graphs=applied_speed.cuda_graphs,
    )
    return loaded


def _probe_call(loaded: LoadedPipeline, images: int) -> None:
    """One denoising step and the decode for `images` images at the card's size: what a batch's memory peaks at."""
    import torch

    call = loaded.card.call
    kwargs = dict(call.extra)
    kwargs.update(
        prompt=["a probe"] * images,
        num_inference_steps=1,
        guidance_scale=call.guidance,
        width=call.width,
        height=call.height,
        generator=[torch.Generator("cpu").manual_seed(0) for _ in range(images)],
        output_type="np",
    )
    with torch.inference_mode():
        loaded.pipe(**kwargs)
