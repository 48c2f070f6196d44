"""The pipelined build engine: the accelerator only denoises and decodes; the CPU side runs beside it.

Three stages, joined by bounded queues so memory stays flat and the slowest stage sets the pace:

1. **Generation** (the main thread): one model's images stream through the pipeline shard by shard, in
   batches that never cross a shard (images depend on their batch at the floating-point level, so a shard's
   bytes must not depend on its neighbours: the number of ranks, a resume or an out-of-memory elsewhere).
   A shard is cut at one batch size (a compiled pipeline sees one shape: short batches are padded); a CUDA
   out-of-memory halves the batch and retries the same images; a shard made again replays the grouping its
   stats file recorded (:mod:`aigi_scd.build.batching`). Each batch is one chunk.
2. **Host workers** (a pool of processes): each image's PNG, its sha256, the filters that run on the CPU and
   the shard steps' features (:mod:`aigi_scd.build.host_work`).
3. **The shard writer** (a thread): takes chunks in plan order, waits for their host work, runs what remains
   of the filter chain (filters on the accelerator, then the shard steps), writes the tars and the stats file.

Shards do not depend on the number of workers or their timing: every image's host result depends on the
image alone, and the writer consumes images in plan order. The chain's state across shards (near-duplicates
already kept) is brought up to date in the global plan order before a shard's steps decide: from this run's
own shards, and from the stats files of shards finished earlier or by other ranks (waiting for those).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.build.batching import ModelBatching, ShardBatching
from aigi_scd.build.host_work import HostPlan, HostResult, HostWork, process_image, start_worker
from aigi_scd.build.plan import kept_candidates
from aigi_scd.dataset.files import read_json, write_json_atomic
from aigi_scd.dataset.sample import sample_json
from aigi_scd.dataset.shards import (
    discard_shard,
    model_data_dir,
    model_reject_dir,
    reject_name,
    shard_name,
    stats_name,
)
from aigi_scd.filters.base import Candidate
from aigi_scd.filters.chain import FilterChain
from aigi_scd.filters.shard import filter_shard
from aigi_scd.pipelines.card import ModelCard
from aigi_scd.pipelines.loading import LoadedPipeline
from aigi_scd.pipelines.runner import GeneratedImage, InjectedFaults, WorkItem, generate
from aigi_scd.prompts.tokens import TokenReport
from aigi_scd.weights.ranks import Ranks, wait_until
from aigi_scd.weights.workers import process_pool

POLL = 0.5  # seconds between checks that the other side of a queue is still alive


@dataclass(frozen=True)
class Slot:
    """One shard of the whole plan: models in order, each model's shards in order."""

    position: int
    card: ModelCard
    index: int
    items: Sequence[WorkItem]

    @property
    def model(self) -> str:
        return self.card.name


@dataclass
class Chunk:
    """The images of one pipeline call (all of one shard), each with its host work (a future or done)."""

    slot: Slot
    images: list[GeneratedImage]
    work: list[Future | HostResult]
    loaded: LoadedPipeline
    tokens: TokenReport | None


@dataclass(frozen=True)
class ShardEnd:
    slot: Slot
    loaded: LoadedPipeline
    batch_size: int  # the size the shard's batches were cut at


STOP = "stop"  # no more shards
ABORT = "abort"  # the generation side failed: discard the shard being written


class Aborted(Exception):
    """The shard being written is discarded (the run stops)."""


def stats_path(out: Path, slot: Slot) -> Path:
    return model_data_dir(out, slot.model) / stats_name(slot.index)


@dataclass
class ChainSync:
    """Brings the chain's cross-shard state up to a shard's place in the plan, in plan order."""

    out: Path
    chain: FilterChain
    slots: Sequence[Slot]
    mine: set[int]  # positions this run writes here (their state is remembered as they are written)
    on_wait: Callable[[str], None] | None = None
    next_position: int = 0

    @property
    def stateful(self) -> bool:
        return any(getattr(step, "stateful", False) for step in self.chain.steps)

    def up_to(self, position: int) -> None:
        """Every shard before `position` that this run did not write, restored from its stats (waiting for it)."""
        for p in range(self.next_position, position):
            if p in self.mine or not self.stateful:
                continue
            slot = self.slots[p]
            path = stats_path(self.out, slot)
            wait_until(path.is_file, f"shard {slot.index} of {slot.model} (another rank)", self.on_wait)
            stats = read_json(path)
            self.chain.restore(stats.get("filter_state"), lambda s=slot: kept_candidates(self.out, s.model, s.index))
        self.next_position = max(self.next_position, position)

    def written(self, position: int) -> None:
        self.next_position = position + 1


class ShardWriter(threading.Thread):
    """The writer stage: chunks in, shards out (see the module docstring)."""

    def __init__(self, out: Path, chain: FilterChain, plan: HostPlan, sync: ChainSync, ranks: Ranks, bar, depth: int):
        super().__init__(name="aigi-scd shard writer", daemon=True)
        self.out, self.chain, self.plan, self.sync, self.ranks, self.bar = out, chain, plan, sync, ranks, bar
        self.inbox: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.written: list[dict[str, Any]] = []

    def put(self, message: Any) -> None:
        """Hand a message over, waiting while the writer is behind; raises the writer's error if it failed."""
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.inbox.put(message, timeout=POLL)
                return
            except queue.Full:
                if not self.is_alive():
                    raise RuntimeError("the shard writer stopped") from self.error

    def run(self) -> None:
        try:
            while True:
                message = self.inbox.get()
                if message in (STOP, ABORT):
                    return
                self.written.append(self._write_shard(message))
        except BaseException as exc:  # handed to the generation side, which stops the run
            self.error = exc

    def _next(self) -> Any:
        message = self.inbox.get()
        if message in (ABORT, STOP):
            raise Aborted()
        return message

    def _pending(self, chunk: Chunk) -> list:
        results = [w.result() if isinstance(w, Future) else w for w in chunk.work]
        pending = []
        for image, result in zip(chunk.images, results, strict=True):
            candidate = Candidate(
                image.item.key,
                result.png,
                image.pixels,
                image.item.prompt,
                image.problem,
                results=list(result.results),
                features=dict(result.features),
            )

            def record(c, g=image, digest=result.digest, loaded=chunk.loaded, tokens=chunk.tokens):
                return sample_json(generated=g, loaded=loaded, candidate=c, tokens=tokens, digest=digest)

            pending.append((candidate, record))
        return pending

    def _write_shard(self, first: Chunk) -> dict[str, Any]:
        slot = first.slot
        discard_shard(self.out, slot.model, slot.index)
        began = time.perf_counter()
        seconds = {"generation": 0.0}
        calls: list[int] = []  # the size of each pipeline call that made the shard's images, in order
        end: list[ShardEnd] = []

        def batches():
            message = first
            while not isinstance(message, ShardEnd):
                if message.slot != slot:
                    raise RuntimeError(f"shard {slot.index} of {slot.model} was cut short")
                seconds["generation"] += sum(image.seconds for image in message.images)
                calls.append(message.images[0].batch_size)
                yield self._pending(message)
                message = self._next()
            end.append(message)

        outcome = filter_shard(
            batches(),
            self.chain,
            model_data_dir(self.out, slot.model) / shard_name(slot.index),
            model_reject_dir(self.out, slot.model) / reject_name(slot.index),
            self.bar.update,
            score=lambda candidates: self.chain.score(candidates, self.plan.filters, not self.plan.features),
            before_decide=lambda: self.sync.up_to(slot.position),
        )
        self.sync.written(slot.position)
        loaded = end[0].loaded
        generation = seconds["generation"]
        stats = {
            "shard": slot.index,
            "model": slot.model,
            "tar": shard_name(slot.index),
            "planned": len(slot.items),
            **outcome.stats(self.chain),
            "seconds": time.perf_counter() - began,
            "generation_seconds": generation,
            "images_per_second": len(slot.items) / generation if generation else None,
            "device": loaded.device,
            "dtype": loaded.dtype,
            **ShardBatching(end[0].batch_size, tuple(calls)).record(),
            "offload": loaded.memory.offload,
            "vae_tiling": loaded.memory.vae_tiling,
            "vae_slicing": loaded.memory.vae_slicing,
            "speed": loaded.speed.record(),
            "rank": self.ranks.index,
            "ranks": self.ranks.count,
            "prompts_truncated": sum(bool(first.tokens and first.tokens.truncated(i.prompt.id)) for i in slot.items),
        }
        write_json_atomic(stats_path(self.out, slot), stats)
        return stats


@dataclass
class Engine:
    """Runs this rank's shards: generation here, host work in the pool, writing in the writer thread."""

    out: Path
    chain: FilterChain
    device: str
    slots: Sequence[Slot]
    mine: list[Slot]
    ranks: Ranks
    workers: int
    bar: Any
    batch_size: int | None = None  # None: the loaded pipeline's (its card's, or measured)
    batching: dict[str, ModelBatching] = field(default_factory=dict)  # model → what earlier runs recorded
    written: list[dict[str, Any]] = field(default_factory=list)

    def run(self, load: Callable[[ModelCard], tuple[LoadedPipeline, TokenReport | None]], release: Callable[[], None]):
        """Generate and write every slot of `mine` (in plan order), loading each model once with `load`."""
        plan = HostPlan.for_chain(self.chain, self.device)
        inline = HostWork(plan) if self.workers == 0 else None
        pool = process_pool(self.workers, start_worker, (plan,), plan.preload()) if self.workers > 0 else None
        sync = ChainSync(self.out, self.chain, self.slots, {s.position for s in self.mine}, self._say)
        # Chunks waiting for the writer: enough to keep every worker busy while one shard's end is written.
        depth = max(2, 2 * max(1, self.workers) // max(1, self.batch_size or 4) + 1)
        writer = ShardWriter(self.out, self.chain, plan, sync, self.ranks, self.bar, depth)
        writer.start()
        try:
            by_model: dict[str, list[Slot]] = {}
            for slot in self.mine:
                by_model.setdefault(slot.model, []).append(slot)
            for slots in by_model.values():
                loaded, tokens = load(slots[0].card)
                try:
                    self._generate(loaded, tokens, slots, writer, pool, inline)
                finally:
                    loaded = None
                    release()
            writer.put(STOP)
            writer.join()
            if writer.error is not None:
                raise writer.error
        except BaseException:
            # The writer stops at its next chunk (the shard it was making is discarded) or after the file it is
            # writing: waited for without a time limit, so Ctrl-C never leaves it killed half-way through a file
            # (a second Ctrl-C still stops the wait).
            while writer.is_alive():
                try:
                    writer.inbox.put(ABORT, timeout=POLL)
                    break
                except queue.Full:
                    continue
            writer.join()
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.written = writer.written
        return self.written

    def _say(self, message: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(f"{self.ranks.prefix()}{message}", file=sys.stderr)

    def _generate(self, loaded, tokens, slots: list[Slot], writer: ShardWriter, pool, inline) -> None:
        """Each shard in batches of its own (see the module docstring); an out-of-memory's smaller batch holds
        for the model's later shards too."""
        known = self.batching.get(loaded.card.name, ModelBatching())
        size = known.size(self.batch_size or loaded.speed.batch_size, explicit=self.batch_size is not None)
        faults = InjectedFaults()  # the test hook's count holds across the model's shards
        self.bar.set_postfix_str(f"{loaded.card.name} (batch {size})")
        for slot in slots:
            recorded = known.shards.get(slot.index)
            planned = recorded.batch_size if recorded is not None else size

            def smaller(new: int, reason: str, was: list[int] = [planned]) -> None:  # noqa: B006 (one per shard)
                nonlocal size
                size = min(size, new)
                self._say(f"{loaded.card.name}: out of memory at batch {was[0]}; going on with batch {new} ({reason})")
                was[0] = new

            sizes = recorded.batches if recorded is not None else None
            for images in generate(
                loaded,
                slot.items,
                planned,
                pad=loaded.speed.compile,
                on_smaller_batch=smaller,
                sizes=sizes,
                faults=faults,
            ):
                if pool is not None:
                    work = [pool.submit(process_image, g.item.key, g.pixels, g.problem, g.item.prompt) for g in images]
                else:
                    work = [inline(g.item.key, g.pixels, g.problem, g.item.prompt) for g in images]
                writer.put(Chunk(slot, images, work, loaded, tokens))
            writer.put(ShardEnd(slot, loaded, planned))
