"""`aigi-scd compress`: every image of every set, through every codec at every target, decoded and scored.

Layout under the output folder (a build folder, or ``--out`` for image folders)::

    compressed/<codec>-<target>/<source>-NNNNN.tar          bitstream + reconstruction (png) + json per image
    compressed/<codec>-<target>/<source>-NNNNN.stats.json   every row of the unit, written last: the done-marker
    benchmark/...                                           tables and plots (aigi_scd.bench.benchmark), derived

A unit is one (codec, target, source shard). Encoding runs in a pool of CPU processes; the main process
scores finished units in batches while the pool encodes the next ones. A rerun skips finished units,
rescoring them only when metrics were added, and redoes units whose images or codec preset changed.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from aigi_scd.bench import encode_worker, semantic_fidelity
from aigi_scd.bench.metrics import Scorer
from aigi_scd.bench.options import CodecChoice, check_codec, check_output, default_workers, needs_models
from aigi_scd.bench.report import DEFAULT_REPORT_IMAGES
from aigi_scd.bench.sources import Item, Source, load_rgb
from aigi_scd.bench.units import (
    STATS_VERSION,
    Unit,
    plan_units,
    preset_fingerprint,
    result_row,
    sample_record,
    unit_state,
)
from aigi_scd.dataset.files import ensure_dir, read_json_or_explain, write_json_atomic
from aigi_scd.dataset.sample import json_bytes
from aigi_scd.dataset.shards import AtomicTarWriter, iter_samples
from aigi_scd.errors import ConfigError
from aigi_scd.iqa import MetricInfo


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


class Compressor:
    """Runs the units of one `compress` call: pool, scoring, atomic writing, resume."""

    def __init__(
        self,
        out: Path,
        scorer: Scorer,
        workers: int,
        progress: bool = True,
        in_process: set[str] | None = None,
    ):
        self.out = Path(out)
        self.scorer = scorer
        self.workers = workers
        self.progress = progress
        self.in_process = in_process or set()
        self.report = CompressReport()

    def _bar(self, **kwargs):
        from tqdm.auto import tqdm

        return tqdm(disable=not self.progress, dynamic_ncols=True, **kwargs)

    def run(self, units: list[Unit]) -> CompressReport:
        start = time.perf_counter()
        metrics = [m.name for m in self.scorer.image_metrics]
        for stray in (self.out / "compressed").glob("*/*.tmp"):
            stray.unlink(missing_ok=True)  # left by a killed run: never a finished unit
        todo, rescore = [], []
        for unit in units:
            state, stats = unit_state(unit, metrics)
            if state == "done":
                self.report.resumed += 1
            elif state == "rescore":
                rescore.append((unit, stats))
            else:
                todo.append(unit)
        self.report.units = len(units)
        overall = self._bar(total=len(units), initial=self.report.resumed, desc="units", unit="unit")
        try:
            for unit, stats in rescore:
                self._rescore(unit, stats)
                self.report.rescored += 1
                overall.update()
            self._encode_all(todo, overall)
        finally:
            overall.close()
        self.report.seconds = time.perf_counter() - start
        return self.report

    def _encode_all(self, units: list[Unit], overall) -> None:
        pooled = [u for u in units if u.codec.spec not in self.in_process]
        pool = None
        if pooled and self.workers > 0:
            pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=encode_worker.ignore_interrupts,
            )
        pending: deque[tuple[Unit, list[Item], list[Future] | None]] = deque()
        window = max(2, self.workers + 1)
        try:
            for unit in units:
                unit.stats.unlink(missing_ok=True)  # the unit is redone: it no longer counts as finished,
                unit.tar.unlink(missing_ok=True)  # and its old files leave the dataset until the new ones are in
                items = unit.shard.items()
                futures = None
                if pool is not None and unit.codec.spec not in self.in_process:
                    futures = [
                        pool.submit(encode_worker.encode_one, unit.codec.spec, unit.target, it.key, it.data, it.prompt)
                        for it in items
                    ]
                pending.append((unit, items, futures))
                while len(pending) >= window:
                    self._finish(*pending.popleft())
                    overall.update()
            while pending:
                self._finish(*pending.popleft())
                overall.update()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _finish(self, unit: Unit, items: list[Item], futures: list[Future] | None) -> None:
        bar = self._bar(total=len(items), desc=unit.label, unit="img", leave=False)
        results = []
        try:
            for i, item in enumerate(items):
                if futures is not None:
                    result = futures[i].result()
                else:
                    result = encode_worker.encode_one(unit.codec.spec, unit.target, item.key, item.data, item.prompt)
                results.append(result)
                bar.update()
        finally:
            bar.close()
        rows = [result_row(unit, item, result) for item, result in zip(items, results, strict=True)]
        ok = [i for i, r in enumerate(rows) if r["status"] == "ok"]
        fidelity = semantic_fidelity.file_scores([results[i]["bitstream"] for i in ok], [items[i].prompt for i in ok])
        for i, scores in zip(ok, fidelity, strict=True):
            rows[i].update(scores)
        recs = [Image.open(io.BytesIO(results[i]["png"])).convert("RGB") for i in ok]
        refs = [load_rgb(items[i].data) for i in ok]
        for i, scores in zip(ok, self.scorer.score(recs, refs), strict=True):
            rows[i]["scores"] = scores
        samples = {
            rows[i]["key"]: (results[i]["bitstream"], results[i]["png"], json.dumps(results[i]["info"])) for i in ok
        }
        self._write(unit, rows, samples, [m.name for m in self.scorer.image_metrics])
        self.report.encoded += 1

    def _rescore(self, unit: Unit, stats: dict) -> None:
        """Add missing metrics (and the semantic-fidelity columns) to a finished unit from its stored files
        (no re-encoding)."""
        rows = stats["rows"]
        for row in rows:
            row["oracle"] = unit.codec.preset.oracle
        stored = {s["__key__"]: s for s in iter_samples(unit.tar)} if unit.tar.is_file() else {}
        items = {item.key: item for item in unit.shard.items()}
        ok = [r for r in rows if r["status"] == "ok"]
        missing = [m for m in self.scorer.image_metrics if m.name not in stats["metrics"]]
        fidelity = semantic_fidelity.file_scores(
            [stored[r["key"]]["bitstream"] for r in ok], [items[r["key"]].prompt for r in ok]
        )
        for row, scores in zip(ok, fidelity, strict=True):
            row.update(scores)
        if missing:
            recs = [Image.open(io.BytesIO(stored[r["key"]]["png"])).convert("RGB") for r in ok]
            refs = [load_rgb(items[r["key"]].data) for r in ok]
            for row, scores in zip(ok, self.scorer.score(recs, refs, only=[m.name for m in missing]), strict=True):
                row["scores"].update(scores)
        samples = {
            r["key"]: (
                stored[r["key"]]["bitstream"],
                stored[r["key"]]["png"],
                json.loads(stored[r["key"]]["json"])["info"],
            )
            for r in ok
        }
        metrics = list(dict.fromkeys([*stats["metrics"], *(m.name for m in missing)]))
        self._write(unit, rows, samples, metrics)

    def _write(self, unit: Unit, rows: list[dict], samples: dict[str, tuple[bytes, bytes, str]], metrics) -> None:
        """The tar first (atomic), then the stats file that marks the unit done."""
        unit.stats.unlink(missing_ok=True)
        writer = AtomicTarWriter(unit.tar)
        try:
            for row in rows:
                if row["key"] in samples:
                    bitstream, png, info = samples[row["key"]]
                    writer.write(
                        row["key"], {"bitstream": bitstream, "png": png, "json": json_bytes(sample_record(row, info))}
                    )
            written = writer.commit()
        except BaseException:
            writer.abort()
            raise
        if written is None:
            unit.tar.unlink(missing_ok=True)  # nothing reached the target: no stale tar from an earlier run
        counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "unreachable", "error")}
        self.report.ok += counts["ok"]
        self.report.unreachable += counts["unreachable"]
        self.report.errors += counts["error"]
        self.report.error_examples += [f"{unit.label} {r['key']}: {r['error']}" for r in rows if r["status"] == "error"]
        write_json_atomic(
            unit.stats,
            {
                "version": STATS_VERSION,
                "unit": unit.shard.name,
                "config": unit.config,
                "codec": unit.codec.name,
                "codec_fingerprint": preset_fingerprint(unit.codec.preset),
                "target_bpp": unit.target,
                "source": unit.shard.source,
                "source_kind": unit.shard.kind,
                "keys": unit.shard.keys,
                "metrics": list(metrics),
                "counts": counts,
                "rows": rows,
            },
        )


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
    batch_size: int = 8,
    clip_model: str | None = None,
    anchor: str | None = None,
    progress: bool = True,
    command: str | None = None,
    report_images: int = DEFAULT_REPORT_IMAGES,
) -> tuple[CompressReport, dict[str, Any]]:
    """Compress and score every source with every codec at every target, then (re)write the benchmark files,
    the report and the card. Everything that can fail for lack of weights fails before the first unit."""
    from aigi_scd.bench.benchmark import write_benchmark
    from aigi_scd.bench.metrics import DEFAULT_CLIP_MODEL
    from aigi_scd.bench.publish import publish

    out = Path(out)
    check_output(out, is_build)
    if report_images < 1:
        raise ConfigError(f"--report-images must be at least 1, got {report_images}")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"two sets share the name {next(n for n in names if names.count(n) > 1)!r}; rename a folder")
    if anchor is not None and anchor not in [c.name for c in codecs]:
        raise ConfigError(f"--anchor {anchor!r} is not one of --codecs ({', '.join(c.name for c in codecs)})")
    in_process = set()
    for choice in codecs:
        codec = check_codec(choice)
        if needs_models(choice.preset):
            in_process.add(choice.spec)
            encode_worker.remember_codec(choice.spec, codec)
    scorer = Scorer(metrics, device=device, batch_size=batch_size, clip_model=clip_model or DEFAULT_CLIP_MODEL)
    ensure_dir(out, "choose another --out")
    _record_sources(out, sources, command, [c.name for c in codecs], anchor)
    units = plan_units(out, sources, codecs, targets)
    workers = default_workers() if workers is None else workers
    report = Compressor(out, scorer, workers, progress=progress, in_process=in_process).run(units)
    oracles = [c.name for c in codecs if c.preset.oracle]
    natural = [s.name for s in sources if s.kind != "aigi"]
    if oracles and natural:
        report.notes.append(
            f"{', '.join(oracles)} read the generation prompt, which {', '.join(natural)} do not have: not run there"
        )
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
