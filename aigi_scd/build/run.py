"""`aigi-scd build`: prompts → pipelines → filters → shards → dataset card, resumable shard by shard.

The work is fixed up front: every (model, prompt, image index) gets a seed and a place in a shard.
A shard is generated, filtered and written as a unit (by the pipelined engine, :mod:`aigi_scd.build.engine`);
its stats file, written last, marks it done. Several processes (ranks, under torchrun or accelerate launch)
share the shards out; any number of them may resume a build that another number started.
A rerun with the same configuration skips done shards and regenerates the others from scratch, so
after a crash or a kill it produces exactly the samples of an uninterrupted run.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

import aigi_scd
from aigi_scd.build.batching import ModelBatching, model_batching
from aigi_scd.build.engine import Engine, Slot
from aigi_scd.build.manifest import MANIFEST_FORMAT, prepare_out, preset_record
from aigi_scd.build.plan import plan_shards
from aigi_scd.build.resume import shards_to_skip
from aigi_scd.dataset.card import write_dataset_card
from aigi_scd.dataset.files import read_json
from aigi_scd.dataset.shards import discard_shard, model_data_dir, stats_name
from aigi_scd.dataset.swap import finish_pending_swap
from aigi_scd.errors import AigiScdError, ConfigError
from aigi_scd.filters.chain import FilterChain
from aigi_scd.filters.preset import default_preset_name, load_filter_preset
from aigi_scd.pipelines.card import MemoryOptions, ModelCard
from aigi_scd.pipelines.loading import LoadedPipeline, load_pipeline
from aigi_scd.pipelines.preflight import check_available
from aigi_scd.pipelines.runner import plan_items
from aigi_scd.pipelines.speed import AUTO, SpeedOptions, resolve_speed
from aigi_scd.prompts.spec import PromptSpec
from aigi_scd.prompts.tokens import TokenReport, token_report
from aigi_scd.weights.device import pick_device, pick_dtype
from aigi_scd.weights.ranks import Ranks, current_ranks, wait_until
from aigi_scd.weights.workers import default_workers


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
    """How to run: does not change which samples a build holds (device, dtype, memory and speed options are
    recorded per sample). None for a memory or speed option keeps the card's."""

    batch_size: int | str | None = None  # None: the card's speed.batch_size; "auto": measured on CUDA, 4 elsewhere
    workers: int | None = None  # host worker processes; None: one per core (per rank); 0: in this process
    fuse_qkv: bool | None = None
    channels_last: bool | None = None
    compile: bool | None = None
    cuda_graphs: bool | None = None
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

    def speed(self, card: ModelCard, device: str) -> SpeedOptions:
        """The card's speed options on `device` (on CUDA only) with this run's overrides."""
        return resolve_speed(
            card.speed,
            device,
            batch_size=self.batch_size,
            fuse_qkv=self.fuse_qkv,
            channels_last=self.channels_last,
            compile=self.compile,
            cuda_graphs=self.cuda_graphs,
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
    rank: int = 0  # a rank other than 0 reports nothing: rank 0 reports the whole build
    seconds: float = 0.0

    @property
    def kept(self) -> int:
        return sum(m.kept for m in self.models)


def _free_accelerator_memory() -> None:
    """Give a finished model's memory back before the next model loads."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _plan_slots(config: BuildConfig) -> list[Slot]:
    """Every shard of every model, in plan order (models in --models order, shards in order)."""
    slots: list[Slot] = []
    for card in config.cards:
        items = plan_items(card.name, config.prompts, config.images_per_prompt, config.seed)
        for index, shard_items in enumerate(plan_shards(items, config.shard_size, config.images_per_prompt)):
            slots.append(Slot(len(slots), card, index, shard_items))
    return slots


def _resumable(
    out: Path,
    config: BuildConfig,
    slots: list[Slot],
    manifest: dict[str, Any],
    overwrite: bool,
    device: str,
    dtypes: dict[str, Any],
    ranks: Ranks,
) -> tuple[list[int], dict[str, ModelBatching]]:
    """Rank 0's start: build.json, then the positions of the shards a resumed run skips (finished, tars matching
    their stats, made on this kind of device in this precision) and each model's recorded batching (the grouping
    of shards made again, the batch size to continue with). Every other shard's files are removed now, before
    any rank starts, so that no rank reads the stale stats of a shard another rank is making again."""
    finish_pending_swap(out)
    prepare_out(out, manifest, overwrite)
    warn = lambda message: tqdm.write(f"{ranks.prefix()}{message}", file=sys.stderr)  # noqa: E731
    done = {  # checked for every model before any image is made
        card.name: shards_to_skip(out, card.name, device, str(dtypes[card.name]).replace("torch.", ""), warn)
        for card in config.cards
    }
    redo = {
        card.name: [s.index for s in slots if s.model == card.name and s.index not in done[card.name]]
        for card in config.cards
    }
    batching = {card.name: model_batching(out, card.name, done[card.name], redo[card.name]) for card in config.cards}
    for slot in slots:
        if slot.index not in done[slot.model]:
            discard_shard(out, slot.model, slot.index)
    return [slot.position for slot in slots if slot.index in done[slot.model]], batching


def _warn_mixed_batches(batching: dict[str, ModelBatching], size: int, todo: list[Slot], ranks: Ranks) -> None:
    """A resume whose --batch-size differs from the finished shards' makes bytes no single run would have made."""
    for model, known in batching.items():
        new = [s for s in todo if s.model == model and s.index not in known.shards]
        if new and known.last is not None and known.last != size:
            tqdm.write(
                f"{ranks.prefix()}{model}: the finished shards were made in batches of {known.last}; the "
                f"{len(new)} new shard(s) are made in batches of {size} (--batch-size), so their PNG bytes differ "
                f"from those of a run at batch size {known.last} by floating-point noise (drop --batch-size to "
                "continue as the first run went)",
                file=sys.stderr,
            )


def _report(out: Path, config: BuildConfig, slots: list[Slot], done_before: set[int], seconds: float) -> BuildReport:
    """What every shard's stats say, once all are written (done earlier, or by this run on any rank)."""
    report = BuildReport(out=out)
    models = {card.name: ModelReport(card.name) for card in config.cards}
    report.models = list(models.values())
    for slot in slots:
        model = models[slot.model]
        model.shards += 1
        stats = read_json(model_data_dir(out, slot.model) / stats_name(slot.index))
        model.kept += stats["kept"]
        model.rejected += stats["rejected"]
        if slot.position in done_before:
            model.shards_skipped += 1
        else:
            model.generated += stats["planned"]
            model.seconds += stats["seconds"]
    report.seconds = seconds
    return report


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

    Under a launcher (``torchrun``, ``accelerate launch``) each process is a rank: rank 0 writes build.json
    first, the unfinished shards are dealt out among the ranks, and rank 0 writes the card once every shard
    is done. `filters` (a list of filter objects) replaces the config's preset, for callers building chains
    in code.
    """
    began = time.perf_counter()
    runtime = runtime or Runtime()
    batch_size = runtime.batch_size
    if batch_size is not None and batch_size != AUTO and not (isinstance(batch_size, int) and batch_size >= 1):
        raise ConfigError(f"--batch-size must be at least 1 or auto, got {runtime.batch_size}")
    if runtime.workers is not None and runtime.workers < 0:
        raise ConfigError(f"--workers must be 0 or more, got {runtime.workers}")
    if runtime.offload not in (None, "none", "model", "sequential"):
        raise ConfigError(f"--offload {runtime.offload!r}: expected none, model or sequential")
    out = Path(out)
    device = pick_device(runtime.device)
    ranks = current_ranks(cpu=device == "cpu")
    device = ranks.device(device)
    dtypes = {}
    for card in config.cards:  # before any work: a card this device cannot run stops the build now
        dtypes[card.name] = pick_dtype(card.dtype, device, runtime.dtype, fallback=card.dtype_fallback, model=card.name)
        check_available(card)
    if filters is not None:
        config.filters = FilterChain.from_steps("custom", list(filters))
    chain = config.filters
    chain.prepare(device)  # weights of learned metrics load now, before anything is written
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
    slots = _plan_slots(config)
    decided: tuple[list[int], dict[str, ModelBatching], str | None] = ([], {}, None)
    if ranks.is_main:  # build.json first, and the one view of what is done that every rank deals from
        try:
            decided = (*_resumable(out, config, slots, manifest, overwrite, device, dtypes, ranks), None)
        except AigiScdError as exc:
            if ranks.distributed:
                ranks.broadcast(([], {}, str(exc)))  # the other ranks stop with it too, instead of waiting
            raise
    positions, batching, problem = ranks.broadcast(decided)
    if problem is not None:
        raise AigiScdError(f"rank 0 stopped: {problem}")
    done_before = set(positions)
    chain.reset()
    todo = [slot for slot in slots if slot.position not in done_before]
    mine = ranks.deal(todo)
    workers = default_workers() if runtime.workers is None else runtime.workers
    total = sum(len(slot.items) for slot in slots)
    initial = sum(len(slot.items) for slot in slots if slot.position not in {s.position for s in mine})
    truncated: dict[str, int] = {}

    def load(card: ModelCard) -> tuple[LoadedPipeline, TokenReport]:
        bar.set_postfix_str(f"loading {card.name}")
        loaded = load_pipeline(
            card, device, dtypes[card.name], runtime.cache_dir, runtime.memory(card), runtime.speed(card, device)
        )
        tokens = token_report(loaded, config.prompts)
        truncated[card.name] = len(tokens.over_limit(config.prompts))
        for warning in tokens.warnings(config.prompts):
            tqdm.write(f"{ranks.prefix()}{warning}", file=sys.stderr)
        return loaded, tokens

    desc = f"build{' rank ' + str(ranks.index) if ranks.distributed else ''}"
    with tqdm(
        total=total, initial=initial, unit="img", desc=desc, disable=not runtime.progress, dynamic_ncols=True
    ) as bar:
        fixed_batch = runtime.batch_size if isinstance(runtime.batch_size, int) else None
        if ranks.is_main and fixed_batch is not None:
            _warn_mixed_batches(batching, fixed_batch, todo, ranks)
        engine = Engine(out, chain, device, slots, mine, ranks, workers, bar, fixed_batch, batching)
        engine.run(load, _free_accelerator_memory)
    if not ranks.is_main:
        return BuildReport(out=out, rank=ranks.index)
    if ranks.distributed:  # the card last: once every rank's shards are done
        for slot in todo:
            path = model_data_dir(out, slot.model) / stats_name(slot.index)
            wait_until(path.is_file, f"shard {slot.index} of {slot.model} from another rank", engine._say)
    write_dataset_card(out)
    report = _report(out, config, slots, done_before, time.perf_counter() - began)
    for model in report.models:
        model.truncated_prompts = truncated.get(model.name, 0)
    return report
