"""`aigi-scd build`: prompts → pipelines → filters → shards → dataset card, resumable shard by shard.

The work is fixed up front: every (model, prompt, image index) gets a seed and a place in a shard.
A shard is generated, filtered and written as a unit; its stats file, written last, marks it done.
A rerun with the same configuration skips done shards and regenerates the others from scratch, so
after a crash or a kill it produces exactly the samples of an uninterrupted run.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

import aigi_scd
from aigi_scd.build.manifest import MANIFEST_FORMAT, prepare_out, preset_record
from aigi_scd.build.plan import kept_candidates, plan_shards
from aigi_scd.dataset.card import write_dataset_card
from aigi_scd.dataset.files import write_json_atomic
from aigi_scd.dataset.png import encode_png
from aigi_scd.dataset.sample import sample_json
from aigi_scd.dataset.shards import (
    discard_shard,
    finished_shards,
    model_data_dir,
    model_reject_dir,
    reject_name,
    shard_name,
    stats_name,
)
from aigi_scd.dataset.swap import finish_pending_swap
from aigi_scd.errors import ConfigError
from aigi_scd.filters import Candidate
from aigi_scd.filters.chain import FilterChain
from aigi_scd.filters.preset import default_preset_name, load_filter_preset
from aigi_scd.filters.shard import filter_shard
from aigi_scd.pipelines.card import MemoryOptions, ModelCard
from aigi_scd.pipelines.loading import LoadedPipeline, load_pipeline
from aigi_scd.pipelines.preflight import check_available
from aigi_scd.pipelines.runner import WorkItem, generate, plan_items
from aigi_scd.prompts.spec import PromptSpec
from aigi_scd.prompts.tokens import TokenReport, token_report
from aigi_scd.weights.device import pick_device, pick_dtype


@dataclass
class BuildConfig:
    """What determines the samples of a build. Two runs with equal configs write equal samples."""

    cards: list[ModelCard]
    prompts: list[PromptSpec]
    suite: str
    seed: int
    images_per_prompt: int = 1
    shard_size: int = 256
    filters: FilterChain | None = None  # None: the default preset for these cards (default_preset_name)

    def __post_init__(self) -> None:
        if self.images_per_prompt < 1:
            raise ConfigError(f"--images-per-prompt must be at least 1, got {self.images_per_prompt}")
        if self.shard_size < 1:
            raise ConfigError(f"--shard-size must be at least 1, got {self.shard_size}")
        if self.filters is None:
            self.filters = load_filter_preset(default_preset_name(self.cards))

    def identity(self) -> dict[str, Any]:
        return {
            "models": {card.name: card.fingerprint() for card in self.cards},
            "suite": self.suite,
            "prompt_ids": [p.id for p in self.prompts],
            "seed": self.seed,
            "images_per_prompt": self.images_per_prompt,
            "shard_size": self.shard_size,
            "filters": self.filters.identity(),
        }


@dataclass
class Runtime:
    """How to run: does not change which samples a build holds (device, dtype and memory options are
    recorded per sample). None for a memory option keeps the card's."""

    batch_size: int = 4
    device: str | None = None
    dtype: str | None = None
    cache_dir: Path | None = None
    progress: bool = True
    offload: str | None = None  # none | model | sequential
    vae_tiling: bool | None = None
    vae_slicing: bool | None = None

    def memory(self, card: ModelCard) -> MemoryOptions:
        """The card's memory options with this run's overrides."""
        base = card.memory
        return MemoryOptions(
            offload=self.offload or base.offload,
            vae_tiling=base.vae_tiling if self.vae_tiling is None else self.vae_tiling,
            vae_slicing=base.vae_slicing if self.vae_slicing is None else self.vae_slicing,
        )


@dataclass
class ModelReport:
    name: str
    shards: int = 0
    shards_skipped: int = 0
    generated: int = 0
    kept: int = 0
    rejected: int = 0
    seconds: float = 0.0
    truncated_prompts: int = 0  # prompts longer than the model's text encoder reads (counted when it loads)


@dataclass
class BuildReport:
    out: Path
    models: list[ModelReport] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return sum(m.kept for m in self.models)


def _write_shard(
    out: Path,
    loaded: LoadedPipeline,
    index: int,
    items: Sequence[WorkItem],
    runtime: Runtime,
    chain: FilterChain,
    bar: tqdm,
    tokens: TokenReport | None = None,
) -> dict[str, Any]:
    model = loaded.card.name
    discard_shard(out, model, index)
    began = time.perf_counter()
    generation_seconds = 0.0

    def batches():
        nonlocal generation_seconds
        for batch in generate(loaded, items, runtime.batch_size):
            generation_seconds += batch[0].batch_seconds
            pending = []
            for g in batch:
                png = encode_png(g.pixels) if g.pixels is not None else None
                candidate = Candidate(g.item.key, png, g.pixels, g.item.prompt, g.problem)
                record = lambda c, g=g: sample_json(generated=g, loaded=loaded, candidate=c, tokens=tokens)  # noqa: E731
                pending.append((candidate, record))
            yield pending

    outcome = filter_shard(
        batches(),
        chain,
        model_data_dir(out, model) / shard_name(index),
        model_reject_dir(out, model) / reject_name(index),
        bar.update,
    )
    stats = {
        "shard": index,
        "model": model,
        "tar": shard_name(index),
        "planned": len(items),
        **outcome.stats(chain),
        "seconds": time.perf_counter() - began,
        "generation_seconds": generation_seconds,
        "images_per_second": len(items) / generation_seconds if generation_seconds else None,
        "device": loaded.device,
        "dtype": loaded.dtype,
        "batch_size": runtime.batch_size,
        "offload": loaded.memory.offload,
        "vae_tiling": loaded.memory.vae_tiling,
        "vae_slicing": loaded.memory.vae_slicing,
        "prompts_truncated": sum(bool(tokens and tokens.truncated(i.prompt.id)) for i in items),
    }
    write_json_atomic(model_data_dir(out, model) / stats_name(index), stats)
    return stats


def _free_accelerator_memory() -> None:
    """Give a finished model's memory back before the next model loads."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def build(
    config: BuildConfig,
    out: Path,
    runtime: Runtime | None = None,
    *,
    overwrite: bool = False,
    command: str | None = None,
    filters: list | None = None,
) -> BuildReport:
    """Generate, filter and shard every planned image of every model into `out`; resume what is done.

    `filters` (a list of filter objects) replaces the config's preset, for callers building chains in code.
    """
    runtime = runtime or Runtime()
    if runtime.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {runtime.batch_size}")
    if runtime.offload not in (None, "none", "model", "sequential"):
        raise ConfigError(f"--offload {runtime.offload!r}: expected none, model or sequential")
    out = Path(out)
    device = pick_device(runtime.device)
    dtypes = {}
    for card in config.cards:  # before any work: a card this device cannot run stops the build now
        dtypes[card.name] = pick_dtype(card.dtype, device, runtime.dtype, fallback=card.dtype_fallback, model=card.name)
        check_available(card)
    if filters is not None:
        config.filters = FilterChain.from_steps("custom", list(filters))
    chain = config.filters
    chain.prepare(device)  # weights of learned metrics load now, before anything is written
    finish_pending_swap(out)
    manifest = {
        "format": MANIFEST_FORMAT,
        "aigi_scd": aigi_scd.__version__,
        "config": config.identity(),
        "models": [card.name for card in config.cards],  # in --models order (json objects are sorted)
        "cards": {card.name: card.snapshot() for card in config.cards},
        "prompts": [p.to_json() for p in config.prompts],
        "command": command,
        "preset": preset_record(chain),
    }
    prepare_out(out, manifest, overwrite)
    chain.reset()
    plans = {
        card.name: plan_items(card.name, config.prompts, config.images_per_prompt, config.seed) for card in config.cards
    }
    total = sum(len(items) for items in plans.values())
    report = BuildReport(out=out)
    with tqdm(total=total, unit="img", desc="build", disable=not runtime.progress, dynamic_ncols=True) as bar:
        for card in config.cards:
            items = plans[card.name]
            shards = plan_shards(items, config.shard_size, config.images_per_prompt)
            done = finished_shards(out, card.name)
            model_report = ModelReport(card.name, shards=len(shards))
            report.models.append(model_report)
            loaded = None
            tokens = None
            try:
                for index, shard_items in enumerate(shards):
                    if index in done:
                        stats = done[index]
                        chain.restore(
                            stats.get("filter_state"), lambda m=card.name, i=index: kept_candidates(out, m, i)
                        )
                        model_report.shards_skipped += 1
                        bar.update(len(shard_items))
                    else:
                        if loaded is None:
                            bar.set_postfix_str(f"loading {card.name}")
                            loaded = load_pipeline(
                                card, device, dtypes[card.name], runtime.cache_dir, runtime.memory(card)
                            )
                            tokens = token_report(loaded, config.prompts)
                            model_report.truncated_prompts = len(tokens.over_limit(config.prompts))
                            for warning in tokens.warnings(config.prompts):
                                tqdm.write(warning, file=sys.stderr)
                        bar.set_postfix_str(card.name)
                        stats = _write_shard(out, loaded, index, shard_items, runtime, chain, bar, tokens)
                        model_report.generated += stats["planned"]
                        model_report.seconds += stats["seconds"]
                    model_report.kept += stats["kept"]
                    model_report.rejected += stats["rejected"]
            finally:
                loaded = None
                _free_accelerator_memory()
    write_dataset_card(out)
    return report
