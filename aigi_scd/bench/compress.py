"""`aigi-scd compress`: every image of every set, through every codec at every target, decoded and scored.

Layout under the output folder (a build folder, or ``--out`` for image folders)::

    compressed/<codec>-<target>/<source>-NNNNN.tar          bitstream + reconstruction (png) + json per image
    compressed/<codec>-<target>/<source>-NNNNN.stats.json   every row of the unit, written last: the done-marker
    benchmark/...                                           tables and plots (aigi_scd.bench.benchmark), derived

A unit is one (codec, target, source shard). Encoding runs in a pool of CPU processes; on the CPU each worker
also scores the image it decoded, on an accelerator the main process scores in batches sized by pixels. Work
streams: originals are read one at a time and samples reach their tar as they finish, so memory does not grow
with the number or size of the images. Under a launcher (torchrun, accelerate launch) the units are dealt out
among the ranks, each scoring on its own device; rank 0 writes the tables once every unit is done. A rerun
skips finished units, rescoring them only when metrics were added, and redoes units whose images or codec
preset changed.
"""

from __future__ import annotations

import json
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.bench import encode_worker, semantic_fidelity
from aigi_scd.bench.encode_worker import ScoreSpec
from aigi_scd.bench.environment import unit_environment
from aigi_scd.bench.external_results import with_their_sets
from aigi_scd.bench.metrics import Scorer
from aigi_scd.bench.options import CodecChoice, check_codec, check_output, needs_models
from aigi_scd.bench.report import DEFAULT_REPORT_IMAGES
from aigi_scd.bench.sources import Item, Source, load_rgb
from aigi_scd.bench.units import Unit, UnitWriter, plan_units, result_row, unit_state
from aigi_scd.dataset.files import ensure_dir, read_json, read_json_or_explain, write_json_atomic
from aigi_scd.dataset.shards import iter_samples
from aigi_scd.errors import ConfigError
from aigi_scd.iqa import MetricInfo
from aigi_scd.weights.device import pick_device
from aigi_scd.weights.ranks import Ranks, current_ranks, wait_until
from aigi_scd.weights.workers import default_workers, process_pool

WORKER_PRELOAD = ("aigi_scd.bench.encode_worker",)  # what the fork server imports once for every worker
SCORING_PRELOAD = ("pyiqa",)  # and, when the workers score, the metrics' library


@dataclass
class CompressReport:
    units: int = 0
    resumed: int = 0
    encoded: int = 0
    rescored: int = 0
    ok: int = 0
    unreachable: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Pending:
    """One image of one unit on its way into the unit's tar: a worker's future, or its result."""

    writer: UnitWriter
    item: Item | None  # the original (kept while its reconstruction waits to be scored here); None: rescoring
    work: Future | dict[str, Any]
    row: dict[str, Any] | None = None  # set when rescoring: the stored row
    stored: dict[str, Any] | None = None  # rescoring: the stored sample

    def result(self) -> dict[str, Any]:
        if isinstance(self.work, Future):
            self.work = self.work.result()
        return self.work


class Compressor:
    """Runs the units of one `compress` call: streaming, pool, scoring, atomic writing, resume, ranks.

    Memory is bounded by the work in flight (about two images per worker), never by a unit's or a set's size:
    originals are read one at a time, samples go to their unit's tar as soon as they are in (in plan order),
    and reconstructions scored here wait in one batch sized by pixels.
    """

    def __init__(
        self,
        out: Path,
        scorer: Scorer,
        workers: int,
        progress: bool = True,
        in_process: set[str] | None = None,
        ranks: Ranks | None = None,
        score_in_workers: bool = False,
    ):
        self.out = Path(out)
        self.scorer = scorer
        self.workers = workers
        self.progress = progress
        self.in_process = in_process or set()
        self.ranks = ranks or Ranks()
        self.report = CompressReport()
        self.metrics = [m.name for m in scorer.image_metrics]
        # Scoring in the workers: on the CPU, where each image is decoded (no second decode, no batch here).
        self.score_spec: ScoreSpec | None = None
        if score_in_workers and workers > 0 and self.metrics:
            self.score_spec = (tuple(self.metrics), scorer.clip_model)
        self.pool = None
        self.inflight: deque[Pending] = deque()
        self.limit = max(2, 2 * workers)
        self.to_score: list[tuple[UnitWriter, dict, dict, Item]] = []  # ok results waiting for a batch here
        self.to_score_pixels = 0

    def _bar(self, **kwargs):
        from tqdm.auto import tqdm

        return tqdm(disable=not self.progress, dynamic_ncols=True, **kwargs)

    def run(self, units: list[Unit]) -> CompressReport:
        start = time.perf_counter()
        states = None
        if self.ranks.is_main:  # one view of what is done, from which every rank deals
            for stray in (self.out / "compressed").glob("*/*.tmp"):
                stray.unlink(missing_ok=True)  # left by a killed run: never a finished unit
            states = [unit_state(unit, self.metrics)[0] for unit in units]
        states = self.ranks.broadcast(states)
        todo = [u for u, state in zip(units, states, strict=True) if state == "todo"]
        rescore = [u for u, state in zip(units, states, strict=True) if state == "rescore"]
        self.report.units = len(units)
        self.report.resumed = states.count("done")
        mine_rescore, mine_todo = self.ranks.deal(rescore), self.ranks.deal(todo)
        overall = self._bar(total=len(units), initial=len(units) - len(mine_todo) - len(mine_rescore), desc="units")
        needs_pool = self.workers > 0 and (
            self.score_spec is not None or any(u.codec.spec not in self.in_process for u in mine_todo)
        )
        if needs_pool and (mine_todo or mine_rescore):
            preload = WORKER_PRELOAD + (SCORING_PRELOAD if self.score_spec else ())
            self.pool = process_pool(self.workers, encode_worker.start_worker, preload=preload)
        try:
            for unit in mine_rescore:
                self._rescore(unit)
                overall.update()
            for group in _by_shard(mine_todo):
                self._encode_shard(group)
                overall.update(len(group))
        except BaseException:
            for pending in self.inflight:
                pending.writer.tar.abort()
            raise
        finally:
            overall.close()
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
        if self.ranks.distributed:
            for unit in [*todo, *rescore]:  # every rank's units, before rank 0 writes the tables
                wait_until(unit.stats.is_file, f"unit {unit.label} (another rank)")
        self._count([*todo, *rescore])
        self.report.encoded, self.report.rescored = len(todo), len(rescore)
        self.report.seconds = time.perf_counter() - start
        return self.report

    def _count(self, units: list[Unit]) -> None:
        """This run's outcome (every rank's), from the stats files of the units it wrote."""
        for unit in units:
            rows = read_json(unit.stats)["rows"]
            self.report.ok += sum(r["status"] == "ok" for r in rows)
            self.report.unreachable += sum(r["status"] == "unreachable" for r in rows)
            errors = [r for r in rows if r["status"] == "error"]
            self.report.errors += len(errors)
            self.report.error_examples += [f"{unit.label} {r['key']}: {r['error']}" for r in errors]

    # -- the flow of work -------------------------------------------------------------------------------------

    def _submit(self, pending: Pending) -> None:
        self.inflight.append(pending)
        while len(self.inflight) >= self.limit:
            self._take(self.inflight.popleft())

    def _drain(self) -> None:
        while self.inflight:
            self._take(self.inflight.popleft())
        self._score_batch()

    def _take(self, pending: Pending) -> None:
        """A finished image (in plan order): to its tar now, or to the scoring batch first."""
        result = pending.result()
        if pending.row is not None:  # rescoring: the result is the missing scores
            pending.row["scores"].update(result)
            stored = pending.stored
            info = json.loads(stored["json"])["info"]
            pending.writer.add(pending.row, (stored["bitstream"], stored["png"], info))
            return
        row = result_row(pending.writer.unit, pending.item, result)
        pending.writer.rows.append(row)
        if row["status"] != "ok":
            return
        row.update(semantic_fidelity.file_scores([result["bitstream"]], [pending.item.prompt])[0])
        row["scores"] = result.get("scores", {})
        if "scores" in result or not self.metrics:  # scored by its worker
            pending.writer.add(row, _sample(result))
            return
        # A unit's codec is scored either always here or always in the workers: its tar stays in plan order.
        self.to_score.append((pending.writer, row, result, pending.item))
        self.to_score_pixels += result["width"] * result["height"]
        if self.to_score_pixels >= self.scorer.pixel_budget:
            self._score_batch()

    def _score_batch(self) -> None:
        """Score the waiting reconstructions together (one batch by pixels) and write them to their tars."""
        if not self.to_score:
            return
        recs = [load_rgb(result["png"]) for _, _, result, _ in self.to_score]
        refs = [load_rgb(item.data) for _, _, _, item in self.to_score]
        for (writer, row, result, _), scores in zip(self.to_score, self.scorer.score(recs, refs), strict=True):
            row["scores"] = scores
            writer.add(row, _sample(result))
        self.to_score, self.to_score_pixels = [], 0

    # -- encoding and rescoring -------------------------------------------------------------------------------

    def _encode_shard(self, units: list[Unit]) -> None:
        """Every unit of one source shard, reading each original once."""
        writers = []
        for unit in units:
            unit.stats.unlink(missing_ok=True)  # the unit is redone: it no longer counts as finished,
            unit.tar.unlink(missing_ok=True)  # and its old files leave the dataset until the new ones are in
            writers.append(UnitWriter(unit, self.metrics))
        bar = self._bar(total=len(units[0].shard.keys) * len(units), desc=units[0].shard.name, unit="img", leave=False)
        try:
            for item in units[0].shard.iter_items():
                for writer in writers:
                    spec, target = writer.unit.codec.spec, writer.unit.target
                    if self.pool is not None and spec not in self.in_process:
                        args = (spec, target, item.key, item.data, item.prompt, self.score_spec)
                        work: Future | dict = self.pool.submit(encode_worker.encode_one, *args)
                    else:
                        work = encode_worker.encode_one(spec, target, item.key, item.data, item.prompt)
                    self._submit(Pending(writer, item, work))
                    bar.update()
            self._drain()
            for writer in writers:
                writer.finish()
        except BaseException:
            for writer in writers:
                writer.tar.abort()
            raise
        finally:
            bar.close()

    def _rescore(self, unit: Unit) -> None:
        """Add missing metrics (and the semantic-fidelity columns) to a finished unit from its stored files (no
        re-encoding)."""
        stats = read_json(unit.stats)
        for row in stats["rows"]:
            row["oracle"] = unit.codec.preset.oracle
        rows = {r["key"]: r for r in stats["rows"]}
        missing = [m for m in self.metrics if m not in stats["metrics"]]
        metrics = list(dict.fromkeys([*stats["metrics"], *missing]))
        writer = UnitWriter(unit, metrics, rows=stats["rows"])
        unit.stats.unlink(missing_ok=True)
        stored_samples = iter_samples(unit.tar) if unit.tar.is_file() else iter(())
        try:
            items = unit.shard.iter_items()
            for stored in stored_samples:
                key = stored["__key__"]
                item = next(i for i in items if i.key == key)  # originals in the same (plan) order
                rows[key].update(semantic_fidelity.file_scores([stored["bitstream"]], [item.prompt])[0])
                if not missing:
                    work: Future | dict = {}
                elif self.pool is not None and self.score_spec is not None:
                    args = (self.score_spec, stored["png"], item.data, missing)
                    work = self.pool.submit(encode_worker.score_one, *args)
                else:
                    work = self.scorer.score([load_rgb(stored["png"])], [load_rgb(item.data)], only=missing)[0]
                self._submit(Pending(writer, None, work, row=rows[key], stored=stored))
            self._drain()
            writer.finish()
        except BaseException:
            writer.tar.abort()
            raise


def _sample(result: dict[str, Any]) -> tuple[bytes, bytes, str]:
    return result["bitstream"], result["png"], json.dumps(result["info"])


def _by_shard(units: list[Unit]) -> list[list[Unit]]:
    """Consecutive units of one source shard (plan order keeps them together)."""
    groups: list[list[Unit]] = []
    for unit in units:
        if groups and groups[-1][0].shard is unit.shard:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


def _record_sources(
    out: Path, sources: list[Source], command: str | None, codecs: list[str], anchor: str | None
) -> None:
    """``compress.json``: which sets the output holds (merged over runs), and the last command with its codec order
    and anchor (so `aigi-scd card` redraws the tables as this run did)."""
    path = Path(out) / "compress.json"
    fix = "delete it and run again (it is written anew with the sets of that run)"
    manifest = read_json_or_explain(path, "the list of compressed sets", fix) if path.is_file() else {"sources": {}}
    for source in sources:
        entry = {"kind": source.kind, "root": str(source.root), "images": source.size}
        if source.shard_size is not None:
            entry["shard_size"] = source.shard_size  # so `verify` and the tables can redo the split
        manifest["sources"][source.name] = entry
    manifest["command"] = command
    manifest["codecs"] = codecs
    manifest["anchor"] = anchor
    write_json_atomic(path, manifest)


def compress(
    out: Path,
    sources: list[Source],
    codecs: list[CodecChoice],
    targets: list[float],
    metrics: list[MetricInfo],
    *,
    is_build: bool,
    workers: int | None = None,
    device: str = "auto",
    batch_size: int = 8,  # metric batches, in 1024² images' worth of pixels
    clip_model: str | None = None,
    anchor: str | None = None,
    progress: bool = True,
    command: str | None = None,
    report_images: int = DEFAULT_REPORT_IMAGES,
) -> tuple[CompressReport, dict[str, Any]]:
    """Compress and score every source with every codec at every target, then (re)write the benchmark files,
    the report and the card. Everything that can fail for lack of weights fails before the first unit. On a rank
    other than 0 the benchmark is None (rank 0 writes it, once every rank's units are done)."""
    from aigi_scd.bench.benchmark import write_benchmark
    from aigi_scd.bench.metrics import DEFAULT_CLIP_MODEL
    from aigi_scd.bench.publish import publish

    out = Path(out)
    device = pick_device(device)
    ranks = current_ranks(cpu=device == "cpu")
    device = ranks.device(device)
    check_output(out, is_build)
    if report_images < 1:
        raise ConfigError(f"--report-images must be at least 1, got {report_images}")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"two sets share the name {next(n for n in names if names.count(n) > 1)!r}; rename a folder")
    if anchor is not None and anchor not in [c.name for c in codecs]:
        raise ConfigError(f"--anchor {anchor!r} is not one of --codecs ({', '.join(c.name for c in codecs)})")
    codecs = with_their_sets(codecs, sources)  # results made elsewhere: checked, and run on the sets they name
    in_process = set()
    environments = {}
    for choice in codecs:
        codec = check_codec(choice)
        environments[choice.name] = unit_environment(choice.preset, codec, device)
        if needs_models(choice.preset):
            in_process.add(choice.spec)
            encode_worker.remember_codec(choice.spec, codec)
    scorer = Scorer(metrics, device=device, batch_size=batch_size, clip_model=clip_model or DEFAULT_CLIP_MODEL)
    if ranks.is_main:
        ensure_dir(out, "choose another --out")
        _record_sources(out, sources, command, [c.name for c in codecs], anchor)
    ranks.barrier()
    units = plan_units(out, sources, codecs, targets)
    for unit in units:  # a unit made with other libraries, device or dtype is redone, never mixed in
        unit.environment = environments[unit.codec.name]
    workers = default_workers() if workers is None else workers
    compressor = Compressor(
        out,
        scorer,
        workers,
        progress=progress,
        in_process=in_process,
        ranks=ranks,
        score_in_workers=device == "cpu",
    )
    report = compressor.run(units)
    oracles = [c.name for c in codecs if c.preset.oracle]
    natural = [s.name for s in sources if s.kind != "aigi"]
    if oracles and natural:
        report.notes.append(
            f"{', '.join(oracles)} read the generation prompt, which {', '.join(natural)} do not have: not run there"
        )
    if not ranks.is_main:
        return report, None  # rank 0 writes the tables, the report and the card, once every rank's units are done
    bench = write_benchmark(
        out,
        anchor=anchor,
        codec_order=[c.name for c in codecs],
        scorer=scorer,
        sources={s.name: s for s in sources},
        progress=progress,
    )
    publish(out, benchmark=bench, report_images=report_images)
    return report, bench
