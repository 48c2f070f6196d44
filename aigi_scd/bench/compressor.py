"""The Compressor: the units of one `compress` call through a pool of worker processes, each finished image kept in
its unit's journal as it comes, each unit written (tar, then stats file) when its last image is in.

The work of a shard goes out as one task per image for all the codecs and targets of the run, so what they share
(a thumbnail search's encodes, across targets and between MISC's pixel layer and thumb-avif; a semantic layer) is
done once (``bench/encode_worker.py``); an interrupt or a
kill loses only the images in flight (``bench/journal.py``), and a rerun says how many it kept.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.bench import encode_worker, semantic_fidelity
from aigi_scd.bench.encode_worker import ScoreSpec
from aigi_scd.bench.journal import UnitJournal, remove_leftover
from aigi_scd.bench.metrics import Scorer
from aigi_scd.bench.sources import Item, load_rgb
from aigi_scd.bench.units import (
    Unit,
    UnitWriter,
    missing_metrics,
    result_row,
    unit_journal,
    unit_state,
)
from aigi_scd.bench.work_groups import GroupTimes
from aigi_scd.dataset.files import read_json
from aigi_scd.dataset.shards import iter_samples
from aigi_scd.weights.ranks import Ranks, wait_until
from aigi_scd.weights.workers import in_daemon_thread, let_go, process_pool

WORKER_PRELOAD = ("aigi_scd.bench.encode_worker",)  # what the fork server imports once for every worker
SCORING_PRELOAD = ("pyiqa", "pytorch_msssim", "piq")  # and, when the workers score, the metrics' libraries


@dataclass
class CompressReport:
    units: int = 0
    resumed: int = 0
    encoded: int = 0
    rescored: int = 0
    kept: int = 0  # finished images of unfinished units found on disk and not made again
    kept_units: int = 0  # the unfinished units they belong to
    discarded: int = 0  # parts of unfinished units made with another preset, other keys or metrics: made again
    ok: int = 0
    unreachable: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class OpenUnit:
    """A unit being made: its journal (the images finished so far, on disk) and the metrics its rows carry;
    when rescoring, the rows of its stats file by key."""

    unit: Unit
    journal: UnitJournal
    metrics: list[str]
    stored_rows: dict[str, dict[str, Any]] | None = None


@dataclass
class Task:
    """One image on its way: every codec and target it still owes (encoding), or one stored sample (rescoring)."""

    opens: list[OpenUnit]
    index: int  # the image's place in its shard
    item: Item
    work: Future | list[dict[str, Any]] | dict[str, Any]
    stored: dict[str, Any] | None = None  # rescoring: the stored sample

    def result(self):
        if isinstance(self.work, Future):
            self.work = self.work.result()
        return self.work


class Compressor:
    """Runs the units of one `compress` call: streaming, pool, scoring, journaled writing, resume, ranks.

    The work of a shard goes out as one task per image for all the codecs and targets of the run, so what they
    share (a thumbnail search's encodes, across targets and between MISC's pixel layer and thumb-avif, a semantic
    layer) is done once. Each finished image goes to its
    unit's journal at once (one part file per image and target), so an interrupt loses only the images in flight;
    a unit becomes its tar and stats file when its last image is in. Memory is bounded by the work in flight
    (two tasks per worker), never by a unit's or a set's size: originals are read one at a time.
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
        work_groups: dict[str, str] | None = None,
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
        self.inflight: set[Future] = set()
        self.tasks: dict[Future, Task] = {}
        self.limit = max(2, 2 * workers)
        self.to_score: list[tuple[OpenUnit, int, dict, dict, Item]] = []  # ok results waiting for a batch here
        self.to_score_pixels = 0
        self.images = None  # the progress bar of finished images (one per image, codec and target)
        self.groups = GroupTimes(work_groups)  # which codecs share an image's work, and what each group takes
        self.help_start = False  # the pool was started by this run: this process encodes its first image

    def _bar(self, **kwargs):
        from tqdm.auto import tqdm

        return tqdm(disable=not self.progress, dynamic_ncols=True, **kwargs)

    def _open(self, unit: Unit, state: str) -> OpenUnit:
        """The unit's journal, with what an earlier, interrupted run finished of it."""
        if state == "rescore":
            stats = read_json(unit.stats)
            metrics = list(dict.fromkeys([*stats["metrics"], *self.metrics]))
            opened = OpenUnit(
                unit, unit_journal(unit, metrics, "rescore"), metrics, {r["key"]: r for r in stats["rows"]}
            )
        else:
            opened = OpenUnit(unit, unit_journal(unit, self.metrics, "encode"), self.metrics)
        kept, discarded = opened.journal.open()
        self.report.kept += kept
        self.report.kept_units += kept > 0
        self.report.discarded += discarded
        return opened

    def run(self, units: list[Unit]) -> CompressReport:
        start = time.perf_counter()
        states = None
        if self.ranks.is_main:  # one view of what is done, from which every rank deals
            for stray in (self.out / "compressed").glob("*/*.tmp"):
                stray.unlink(missing_ok=True)  # left by a killed run: never a finished unit
            states = [unit_state(unit, self.metrics)[0] for unit in units]
            for unit, state in zip(units, states, strict=True):
                if state != "todo":  # the unit is written: a journal of its encoding is left over from a kill
                    remove_leftover(
                        unit_journal(unit, self.metrics, "encode").folder, "rescore" if state == "rescore" else None
                    )
        states = self.ranks.broadcast(states)
        todo = [u for u, state in zip(units, states, strict=True) if state == "todo"]
        rescore = [u for u, state in zip(units, states, strict=True) if state == "rescore"]
        self.report.units = len(units)
        self.report.resumed = states.count("done")
        mine_rescore = [self._open(u, "rescore") for u in self.ranks.deal(rescore)]
        mine_todo = [self._open(u, "todo") for u in self.ranks.deal(todo)]
        mine = [*mine_rescore, *mine_todo]
        if self.report.kept or self.report.discarded:  # said even with --quiet: it is what the rerun is doing
            from tqdm.auto import tqdm

            tqdm.write(resume_line(self.report))
        overall = self._bar(total=len(units), initial=len(units) - len(mine), desc="units")
        total = sum(len(o.unit.shard.keys) for o in mine)
        self.images = self._bar(total=total, initial=self.report.kept, desc="images", unit="img")
        needs_pool = self.workers > 0 and (
            self.score_spec is not None or any(o.unit.codec.spec not in self.in_process for o in mine_todo)
        )
        if needs_pool and mine:
            preload = WORKER_PRELOAD + (SCORING_PRELOAD if self.score_spec else ())
            self.pool = process_pool(self.workers, encode_worker.start_worker, preload=preload)
            self.help_start = True
        try:
            for opened in mine_rescore:
                self._rescore(opened)
                self._finish(opened)
                overall.update()
            for group in _by_shard(mine_todo):
                self._encode_shard(group)
                for opened in group:
                    self._finish(opened)
                    overall.update()
        finally:
            overall.close()
            self.images.close()
            if self.pool is not None:
                let_go(self.tasks)  # the futures' locks a Ctrl-C left held here (no task is left after a full run)
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

    def _submit(self, task: Task) -> None:
        if not isinstance(task.work, Future):
            self._take(task)
            return
        self.inflight.add(task.work)
        self.tasks[task.work] = task
        while len(self.inflight) >= self.limit:
            self._take_finished()

    def _take_finished(self) -> None:
        """Wait for the first tasks to finish and keep their images (in the order they finish: the unit's tar is
        put in plan order when it is written)."""
        finished, self.inflight = wait(self.inflight, return_when=FIRST_COMPLETED)
        for future in sorted(finished, key=lambda f: self.tasks[f].index):
            self._take(self.tasks.pop(future))

    def _drain(self) -> None:
        while self.inflight:
            self._take_finished()
        self._score_batch()

    def _keep(self, opened: OpenUnit, index: int, row: dict[str, Any], sample) -> None:
        opened.journal.add(index, row, sample)
        self.images.update()

    def _take(self, task: Task) -> None:
        """A finished task: each of its images to its unit's journal now, or to the scoring batch first."""
        result = task.result()
        if task.stored is not None:  # rescoring: the result is the missing scores
            opened, stored = task.opens[0], task.stored
            row = opened.stored_rows[task.item.key]
            row["scores"].update(result)
            info = json.loads(stored["json"])["info"]
            self._keep(opened, task.index, row, (stored["bitstream"], stored["png"], info))
            return
        self.groups.note([o.unit.codec.spec for o in task.opens], result)
        for opened, one in zip(task.opens, result, strict=True):
            row = result_row(opened.unit, task.item, one)
            if row["status"] != "ok":
                self._keep(opened, task.index, row, None)
                continue
            row.update(semantic_fidelity.file_scores([one["bitstream"]], [task.item.prompt])[0])
            row["scores"] = one.get("scores", {})
            if "scores" in one or not self.metrics:  # scored by its worker
                self._keep(opened, task.index, row, _sample(one))
                continue
            self.to_score.append((opened, task.index, row, one, task.item))
            self.to_score_pixels += one["width"] * one["height"]
            if self.to_score_pixels >= self.scorer.pixel_budget:
                self._score_batch()

    def _score_batch(self) -> None:
        """Score the waiting reconstructions together (one batch by pixels) and keep them."""
        if not self.to_score:
            return
        recs = [load_rgb(one["png"]) for _, _, _, one, _ in self.to_score]
        refs = [load_rgb(item.data) for _, _, _, _, item in self.to_score]
        for (opened, index, row, one, _), scores in zip(self.to_score, self.scorer.score(recs, refs), strict=True):
            row["scores"] = scores
            self._keep(opened, index, row, _sample(one))
        self.to_score, self.to_score_pixels = [], 0

    def _finish(self, opened: OpenUnit) -> None:
        """The unit's tar (plan order) and stats file from its journal, then the journal goes."""
        writer = UnitWriter(opened.unit, opened.metrics)
        try:
            for row, sample in opened.journal.parts():
                writer.rows.append(row)
                writer.add(row, sample)
            writer.finish()
        except BaseException:
            writer.tar.abort()
            raise
        opened.journal.remove()

    # -- encoding and rescoring -------------------------------------------------------------------------------

    def _encode_shard(self, opens: list[OpenUnit]) -> None:
        """Every unit of one source shard, reading each original once: one task per image, for the codecs and targets
        whose journal does not hold that image yet."""
        for opened in opens:
            opened.unit.stats.unlink(missing_ok=True)  # the unit is redone: it no longer counts as finished,
            opened.unit.tar.unlink(missing_ok=True)  # and its old files leave the dataset until the new ones are in
        if all(o.journal.complete for o in opens):
            return
        count = len(opens[0].unit.shard.keys)
        last: list[tuple[int, Item, list[OpenUnit]]] = []  # the shard's last images, one task per work group
        for index, item in enumerate(opens[0].unit.shard.iter_items()):
            owed = [o for o in opens if index not in o.journal.done]
            pooled = [o for o in owed if self.pool is not None and o.unit.codec.spec not in self.in_process]
            here = [o for o in owed if o not in pooled]
            if pooled and self.workers > 1 and index >= count - self.workers:
                last += [(index, item, group) for group in self.groups.split(pooled, lambda o: o.unit.codec.spec)]
            elif pooled:  # one task per image for every pooled codec and target: they share the image's work
                self._submit(self._pooled_task(pooled, index, item))
            if here:
                jobs = [(o.unit.codec.spec, o.unit.target) for o in here]
                self._submit(
                    Task(here, index, item, encode_worker.encode_image(jobs, item.key, item.data, item.prompt))
                )
        # As many images as workers are left: split by work group and longest first, the workers end together
        # instead of one finishing a whole image while the others wait.
        for index, item, group in sorted(last, key=lambda t: -self.groups.expected(t[2][0].unit.codec.spec)):
            self._submit(self._pooled_task(group, index, item))
        self._drain()

    def _pooled_task(self, opens: list[OpenUnit], index: int, item: Item) -> Task:
        """A task for the pool: the image through every codec and target of `opens`. The first image of a run that
        started the pool is encoded by a thread of this process instead (and scored by a worker), while this thread
        goes on to the pool's first ``submit``, which waits until the fork server has imported what the workers need
        (torch and pyiqa: 4–6 s at one core, during which the other core had nothing to do)."""
        jobs = [(o.unit.codec.spec, o.unit.target) for o in opens]
        if not self.help_start:
            args = (jobs, item.key, item.data, item.prompt, self.score_spec)
            return Task(opens, index, item, self.pool.submit(encode_worker.encode_image, *args))
        self.help_start = False  # once
        return Task(opens, index, item, in_daemon_thread(self._encode_here, jobs, item, name="first-image"))

    def _encode_here(self, jobs: list[tuple[str, float]], item: Item) -> list[dict[str, Any]]:
        """The first image, encoded in this process beside the pool's start, then scored by a worker."""
        results = encode_worker.encode_image(jobs, item.key, item.data, item.prompt)
        if self.score_spec is None:
            return results
        return self.pool.submit(encode_worker.score_results, self.score_spec, item.data, results).result()

    def _rescore(self, opened: OpenUnit) -> None:
        """Add missing metrics (and the semantic-fidelity columns) to a finished unit from its stored files (no
        re-encoding); its stats file and tar stay as they are until the rescored ones replace them."""
        unit, rows = opened.unit, opened.stored_rows
        stats = read_json(unit.stats)
        missing = missing_metrics(stats, self.metrics)
        index_of = {key: i for i, key in enumerate(unit.shard.keys)}
        for row in rows.values():
            row["oracle"] = unit.codec.preset.oracle
            if row["status"] != "ok" and index_of[row["key"]] not in opened.journal.done:
                opened.journal.add(index_of[row["key"]], row, None)
        if opened.journal.complete:
            return
        stored_samples = iter_samples(unit.tar) if unit.tar.is_file() else iter(())
        items = unit.shard.iter_items()
        for stored in stored_samples:
            key = stored["__key__"]
            item = next(i for i in items if i.key == key)  # originals in the same (plan) order
            if index_of[key] in opened.journal.done:
                continue
            rows[key].update(semantic_fidelity.file_scores([stored["bitstream"]], [item.prompt])[0])
            if not missing:
                work: Future | dict = {}
            elif self.pool is not None and self.score_spec is not None:
                args = (self.score_spec, stored["png"], item.data, missing)
                work = self.pool.submit(encode_worker.score_one, *args)
            else:
                work = self.scorer.score([load_rgb(stored["png"])], [load_rgb(item.data)], only=missing)[0]
            self._submit(Task([opened], index_of[key], item, work, stored=stored))
        self._drain()


def resume_line(report: CompressReport) -> str:
    """What a resumed run kept of the work an interrupted one finished."""
    line = f"Resuming: kept {report.kept} finished images of {report.kept_units} unfinished units"
    if report.discarded:
        line += f"; {report.discarded} made with other settings (codec preset, images or metrics) are made again"
    return line + "."


def _sample(result: dict[str, Any]) -> tuple[bytes, bytes, str]:
    return result["bitstream"], result["png"], json.dumps(result["info"])


def _by_shard(opens: list[OpenUnit]) -> list[list[OpenUnit]]:
    """Consecutive units of one source shard (plan order keeps them together)."""
    groups: list[list[OpenUnit]] = []
    for opened in opens:
        if groups and groups[-1][0].unit.shard is opened.unit.shard:
            groups[-1].append(opened)
        else:
            groups.append([opened])
    return groups
