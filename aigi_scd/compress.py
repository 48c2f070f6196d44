"""`aigi-scd compress`: every image of every set, through every codec at every target, decoded and scored.

Layout under the output folder (a build folder, or ``--out`` for image folders)::

    compressed/<codec>-<target>/<source>-NNNNN.tar          bitstream + reconstruction (png) + json per image
    compressed/<codec>-<target>/<source>-NNNNN.stats.json   every row of the unit, written last: the done-marker
    benchmark/...                                           tables and plots (aigi_scd.benchmark), derived

A unit is one (codec, target, source shard). Encoding runs in a pool of CPU processes; the main process
scores finished units in batches while the pool encodes the next ones. A rerun skips finished units,
rescoring them only when metrics were added, and redoes units whose images or codec preset changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from aigi_scd import encode_worker
from aigi_scd.codec import CodecPreset, TargetUnreachableError, build_codec, load_preset
from aigi_scd.errors import AigiScdError, ConfigError, ModelUnavailableError, OutputDirError
from aigi_scd.metrics import MetricInfo, Scorer
from aigi_scd.sample import json_bytes
from aigi_scd.shards import AtomicTarWriter, iter_samples, read_json, write_json_atomic
from aigi_scd.sources import Item, Source, SourceShard, load_rgb

STATS_VERSION = 1


def config_name(codec: str, target: float) -> str:
    """``<codec>-<target>``: the folder and the dataset config of one codec at one target (``misc-offline-0.03``)."""
    return f"{codec}-{target:g}"


def preset_fingerprint(preset: CodecPreset) -> str:
    """Changes whenever anything that shapes the codec's output changes (its registry file path does not count)."""
    data = {k: v for k, v in dataclasses.asdict(preset).items() if k != "source"}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def needs_models(preset: CodecPreset) -> bool:
    """Codecs with model backends run in the main process (one copy of the models, on the accelerator)."""
    return preset.kind == "misc" and (
        (preset.semantic is not None and preset.semantic.backend == "vlm")
        or (preset.maps is not None and preset.maps.backend == "clipseg")
        or (preset.decoder is not None and preset.decoder.backend == "diffusion")
    )


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CodecChoice:
    spec: str  # what the user named: a registry name or a path to a .yaml
    preset: CodecPreset

    @property
    def name(self) -> str:
        return self.preset.name


def parse_codecs(spec: str) -> list[CodecChoice]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ConfigError("--codecs names no codec; see `aigi-scd codecs`")
    choices = [CodecChoice(n, load_preset(n)) for n in names]
    seen: set[str] = set()
    for choice in choices:
        if choice.name in seen:
            raise ConfigError(f"--codecs lists {choice.name!r} twice")
        seen.add(choice.name)
    return choices


def parse_targets(spec: str) -> list[float]:
    try:
        targets = [float(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--bpp {spec!r}: expected comma-separated numbers such as 0.02,0.03,0.05") from None
    if not targets or any(t <= 0 for t in targets):
        raise ConfigError(f"--bpp {spec!r}: expected positive bits per pixel such as 0.02,0.03,0.05")
    if len({config_name("x", t) for t in targets}) != len(targets):
        raise ConfigError(f"--bpp {spec!r} repeats a target")
    return sorted(targets)


def check_codec(choice: CodecChoice):
    """Build the codec and run it once both ways on a small probe, so a codec that cannot run here (missing
    weights or modules; models load on first use) stops the command with one line before any work."""
    try:
        codec = build_codec(choice.preset)
        codec.decode(codec.encode_report(Image.new("RGB", (64, 64), (120, 130, 140)), 4.0, prompt=None).data)
    except TargetUnreachableError:
        pass
    except ImportError as exc:
        raise AigiScdError(
            f"codec {choice.name!r} cannot run here: {exc}; use a preset that runs offline (misc-offline, "
            "thumb-avif, avif, webp, jpeg)"
        ) from None
    except ModelUnavailableError as exc:
        raise ModelUnavailableError(f"codec {choice.name!r}: {exc}") from None
    return codec


@dataclass
class Unit:
    codec: CodecChoice
    target: float
    shard: SourceShard
    out: Path

    @property
    def config(self) -> str:
        return config_name(self.codec.name, self.target)

    @property
    def folder(self) -> Path:
        return self.out / "compressed" / self.config

    @property
    def tar(self) -> Path:
        return self.folder / f"{self.shard.name}.tar"

    @property
    def stats(self) -> Path:
        return self.folder / f"{self.shard.name}.stats.json"

    @property
    def label(self) -> str:
        return f"{self.config}/{self.shard.name}"


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


def unit_state(unit: Unit, metrics: list[str]) -> tuple[str, dict | None]:
    """``done``, ``rescore`` (finished, but some requested metrics are missing) or ``todo``."""
    if not unit.stats.is_file():
        return "todo", None
    try:
        stats = read_json(unit.stats)
    except (OSError, json.JSONDecodeError):
        return "todo", None
    same = (
        stats.get("version") == STATS_VERSION
        and stats.get("keys") == unit.shard.keys
        and stats.get("codec_fingerprint") == preset_fingerprint(unit.codec.preset)
        and (not any(r["status"] == "ok" for r in stats.get("rows", [])) or unit.tar.is_file())
    )
    if not same:
        return "todo", None
    missing = [m for m in metrics if m not in stats.get("metrics", [])]
    return ("rescore" if missing else "done"), stats


def _row(unit: Unit, item: Item, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": item.key,
        "source": unit.shard.source,
        "source_kind": unit.shard.kind,
        "origin": item.origin,
        "codec": unit.codec.name,
        "target_bpp": unit.target,
        "config": unit.config,
        "unit": unit.shard.name,
        "status": result["status"],
        "bytes": result.get("bytes"),
        "bpp": result.get("bpp"),
        "width": result.get("width"),
        "height": result.get("height"),
        "min_bpp": result.get("min_bpp"),
        "encode_seconds": result.get("encode_seconds"),
        "decode_seconds": result.get("decode_seconds"),
        "bitstream_sha256": result.get("bitstream_sha256"),
        "error": result.get("error") if result["status"] != "ok" else None,
        "scores": {},
    }


def sample_record(row: dict[str, Any], info: str) -> dict[str, Any]:
    """The json stored beside a bitstream and its reconstruction (fixed shape; scores as a name/value list)."""
    keys = ("key", "source", "source_kind", "origin", "codec", "target_bpp", "bytes", "bpp", "width", "height")
    record = {k: row[k] for k in keys}
    record.update(
        encode_seconds=row["encode_seconds"],
        decode_seconds=row["decode_seconds"],
        bitstream_sha256=row["bitstream_sha256"],
        scores=[{"name": k, "value": v} for k, v in sorted(row["scores"].items())],
        info=info,
    )
    return record


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
            pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
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
        rows = [_row(unit, item, result) for item, result in zip(items, results, strict=True)]
        ok = [i for i, r in enumerate(rows) if r["status"] == "ok"]
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
        """Add missing metrics to a finished unit from its stored reconstructions (no re-encoding)."""
        rows = stats["rows"]
        stored = {s["__key__"]: s for s in iter_samples(unit.tar)} if unit.tar.is_file() else {}
        items = {item.key: item for item in unit.shard.items()}
        ok = [r for r in rows if r["status"] == "ok"]
        missing = [m for m in self.scorer.image_metrics if m.name not in stats["metrics"]]
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


def plan_units(out: Path, sources: list[Source], codecs: list[CodecChoice], targets: list[float]) -> list[Unit]:
    """Every (codec, target, shard), sources first so each set finishes early and evenly."""
    return [
        Unit(codec, target, shard, Path(out))
        for source in sources
        for shard in source.shards
        for codec in codecs
        for target in targets
    ]


def check_output(out: Path, is_build: bool) -> None:
    """An image-folder run writes into a new folder or one it wrote before, never over unrelated files."""
    out = Path(out)
    if is_build or not out.exists():
        return
    if not out.is_dir():
        raise OutputDirError(f"--out {out} is a file; give a folder")
    ours = (out / "compress.json").is_file() or (out / "build.json").is_file()
    if not ours and any(out.iterdir()):
        raise OutputDirError(
            f"--out {out} holds files that aigi-scd compress did not write; give a new or empty folder"
        )


def _record_sources(out: Path, sources: list[Source], command: str | None) -> None:
    """``compress.json``: which sets the output holds (merged over runs) and the last command."""
    path = Path(out) / "compress.json"
    manifest = read_json(path) if path.is_file() else {"sources": {}}
    for source in sources:
        manifest["sources"][source.name] = {"kind": source.kind, "root": str(source.root), "images": source.size}
    manifest["command"] = command
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
) -> tuple[CompressReport, dict[str, Any]]:
    """Compress and score every source with every codec at every target, then (re)write the benchmark files
    and the dataset card. Everything that can fail for lack of weights fails before the first unit."""
    from aigi_scd.benchmark import write_benchmark
    from aigi_scd.compressed_card import write_compress_card
    from aigi_scd.metrics import DEFAULT_CLIP_MODEL

    out = Path(out)
    check_output(out, is_build)
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
    out.mkdir(parents=True, exist_ok=True)
    _record_sources(out, sources, command)
    units = plan_units(out, sources, codecs, targets)
    workers = default_workers() if workers is None else workers
    report = Compressor(out, scorer, workers, progress=progress, in_process=in_process).run(units)
    bench = write_benchmark(
        out,
        anchor=anchor,
        codec_order=[c.name for c in codecs],
        scorer=scorer,
        sources={s.name: s for s in sources},
        progress=progress,
    )
    if is_build:
        from aigi_scd.datacard import write_dataset_card

        write_dataset_card(out)
    else:
        write_compress_card(out)
    return report, bench
