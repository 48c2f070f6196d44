"""`aigi-scd import`: existing AIGIs (from closed or remote generators, or any folder or dataset) into a
build folder as their own source, ``data/<source>/``, through the same filters, shards, stats and card as a
build.

An image is known by the sha256 of its original bytes: one already imported into the folder (kept or
rejected; from this input or an earlier one; into this source or another) is a duplicate, counted and
skipped, so the same image imported twice is one sample. Keys are ``<source>-<prompt id>-<n>``, n counting
the source's images of that prompt from 0.

Rows are cut into shards of ``shard_size`` consecutive rows; each shard is filtered and written as a unit,
and its stats file, written last, records which rows of which input it covered. A rerun of the same input
skips covered rows without reading their images and goes on where a kill or a bad row stopped it, making
the shards an uninterrupted run makes. A bad row (missing file, undecodable image, empty prompt, a value
that is not a number) stops the import with one line naming the row, unless ``skip_bad_rows``: then it
is reported and recorded in the stats (``bad_rows``).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from aigi_scd.build.import_inputs import ImportInput, RawRow, open_input
from aigi_scd.build.import_originals import read_original
from aigi_scd.build.import_rows import BadRow, dialect, row_sample
from aigi_scd.build.manifest import import_record, manifest_if_any, prepare_import
from aigi_scd.build.plan import kept_candidates
from aigi_scd.dataset.card import write_dataset_card
from aigi_scd.dataset.files import write_json_atomic
from aigi_scd.dataset.sample import imported_sample_json
from aigi_scd.dataset.shards import (
    discard_shard,
    finished_shards,
    imported_sources,
    model_data_dir,
    model_reject_dir,
    reject_name,
    shard_name,
    stats_name,
)
from aigi_scd.dataset.swap import finish_pending_swap
from aigi_scd.errors import AigiScdError, ConfigError
from aigi_scd.filters.base import Candidate
from aigi_scd.filters.chain import FilterChain
from aigi_scd.filters.preset import DEFAULT_FILTER_PRESET, load_filter_preset
from aigi_scd.filters.shard import filter_shard
from aigi_scd.weights.device import pick_device

SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # no dots: datasets splits field names at the first one
SHOWN_BAD_ROWS = 20  # bad rows printed as they are skipped; all of them are in the stats files


class BadRowError(AigiScdError):
    """A row of the input cannot be imported, and bad rows are not being skipped."""


@dataclass
class ImportConfig:
    """What decides the samples of an import: the input, how its fields are read, and the filters."""

    src: Path
    source: str
    generator: str | None = None  # for rows that name none; default: the source name
    mapping: dict[str, str] = field(default_factory=dict)  # sample field → the input's column (--map)
    images_dir: Path | None = None
    split: str | None = None
    shard_size: int = 256
    limit: int | None = None  # import only the first `limit` rows
    filters: FilterChain | None = None  # None: the preset the folder already uses (default_import_preset)

    def __post_init__(self) -> None:
        if not SOURCE_NAME.match(self.source) or self.source == "default":
            raise ConfigError(
                f"--source {self.source!r}: use letters, digits, '-' and '_' (no dots, not 'default'), "
                "e.g. midjourney-v6"
            )
        if self.shard_size < 1:
            raise ConfigError(f"--shard-size must be at least 1, got {self.shard_size}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {self.limit}")


@dataclass
class ImportRuntime:
    """How to run: does not change which samples the import makes."""

    batch_size: int = 8
    device: str | None = None
    progress: bool = True
    skip_bad_rows: bool = False


@dataclass
class ImportReport:
    out: Path
    source: str
    form: str
    rows: int  # rows of the input (up to --limit)
    resumed_rows: int = 0  # covered by an earlier run: not read again
    shards: int = 0
    kept: int = 0
    rejected: int = 0
    duplicates: int = 0
    lossy: int = 0  # kept samples whose original is in a lossy format
    bad_rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    source_kept: int = 0  # kept samples of the source after this run, earlier runs' included (0: no config)


def default_import_preset(out: Path, source: str) -> str:
    """The filter preset an import uses when none is given: the source's own, else the build's, else default."""
    manifest = manifest_if_any(out) if Path(out).is_dir() else None
    if manifest:
        record = import_record(manifest, source)
        for preset in ((record or {}).get("preset"), manifest.get("preset")):
            if preset and preset.get("spec"):
                return preset["spec"]
    return DEFAULT_FILTER_PRESET


def _entry(config: ImportConfig, source: ImportInput, kind: str | None, command: str | None) -> dict[str, Any]:
    """build.json's record of one input; `id` changes with anything that changes what its rows become."""
    images_dir = str(Path(config.images_dir).resolve()) if config.images_dir else None
    identity = [source.fingerprint, source.form, sorted(config.mapping.items()), config.generator, images_dir]
    return {
        "id": hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16],
        "input": str(config.src),
        "form": source.form,
        "dialect": kind,
        "fingerprint": source.fingerprint,
        "rows": source.count,
        "generator": config.generator,
        "map": config.mapping,
        "images_dir": str(config.images_dir) if config.images_dir else None,
        "split": config.split,
        "command": command,
    }


@dataclass
class _SourceState:
    """What the source's finished shards say: the images it holds, the next n per prompt, the rows done."""

    seen: dict[str, str] = field(default_factory=dict)  # original sha256 → key
    next_n: Counter = field(default_factory=Counter)
    covered: list[tuple[int, int]] = field(default_factory=list)  # [start, stop) rows of this input, sorted
    next_index: int = 0

    def take_key(self, source: str, prompt_id: str, digest: str) -> tuple[str, int]:
        n = self.next_n[prompt_id]
        self.next_n[prompt_id] = n + 1
        key = f"{source}-{prompt_id}-{n}"
        self.seen[digest] = key
        return key, n

    def is_covered(self, ordinal: int) -> bool:
        at = bisect.bisect_right(self.covered, (ordinal, float("inf"))) - 1
        return at >= 0 and self.covered[at][0] <= ordinal < self.covered[at][1]


def _restore(out: Path, manifest: dict[str, Any], source: str, input_id: str, chain: FilterChain) -> _SourceState:
    """The state of `source` after its finished shards (and the images every other imported source holds)."""
    state = _SourceState()
    for other in imported_sources(manifest):
        if other != source:
            for stats in finished_shards(out, other).values():
                state.seen.update({item["sha256"]: item["key"] for item in stats.get("imported") or []})
    done = finished_shards(out, source)
    for index in sorted(done):
        stats = done[index]
        for item in stats.get("imported") or []:
            state.seen[item["sha256"]] = item["key"]
            prompt_id, _, n = item["key"][len(source) + 1 :].rpartition("-")
            state.next_n[prompt_id] = max(state.next_n[prompt_id], int(n) + 1)
        if stats.get("input") == input_id and stats.get("rows"):
            state.covered.append(tuple(stats["rows"]))
        chain.restore(stats.get("filter_state"), lambda i=index: kept_candidates(out, source, i))
    state.covered.sort()
    state.next_index = max(done) + 1 if done else 0
    return state


def _chunks(rows, size: int):
    """Consecutive rows, `size` at most per chunk; a gap (rows done earlier) starts a new chunk."""
    chunk: list[RawRow] = []
    for raw in rows:
        if chunk and (len(chunk) == size or raw.ordinal != chunk[-1].ordinal + 1):
            yield chunk
            chunk = []
        chunk.append(raw)
    if chunk:
        yield chunk


class _ShardImport:
    """One shard's rows → candidates (duplicates and bad rows set aside) → filter_shard → stats."""

    def __init__(self, run: _Run, index: int, chunk: list[RawRow]):
        self.run, self.index, self.chunk = run, index, chunk
        self.imported: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.bad_rows: list[dict[str, Any]] = []
        self.lossy: set[str] = set()
        self.generators: dict[str, str] = {}  # key → generator
        self.exts: dict[str, str] = {}  # key → stored image member

    def _bad(self, raw: RawRow, reason: str) -> None:
        run = self.run
        if not run.runtime.skip_bad_rows:
            src = Path(run.config.src)
            where = src / raw.where if run.input.form == "folder" else src.parent / raw.where
            raise BadRowError(
                f"{where}: {reason}. Fix the row, or pass --skip-bad-rows to skip bad rows (each is reported); "
                "the rows before it are imported and kept, and rerunning resumes there."
            )
        self.bad_rows.append({"row": raw.ordinal, "where": raw.where, "reason": reason})
        run.report.bad_rows.append(self.bad_rows[-1])
        if len(run.report.bad_rows) <= SHOWN_BAD_ROWS:
            tqdm.write(f"skipped {raw.where}: {reason}", file=sys.stderr)

    def _candidate(self, raw: RawRow):
        run = self.run
        try:
            sample = row_sample(raw, run.input, run.config.mapping, run.generator, run.kind)
            digest = hashlib.sha256(sample.data).hexdigest()
            if digest in run.state.seen:
                self.duplicates.append({"row": raw.ordinal, "where": raw.where, "sha256": digest})
                self.duplicates[-1]["key"] = run.state.seen[digest]
                return None
            original = read_original(sample.data, digest)
        except BadRow as exc:
            self._bad(raw, str(exc))
            return None
        key, n = run.state.take_key(run.config.source, sample.prompt.id, digest)
        self.imported.append({"key": key, "sha256": digest, "row": raw.ordinal})
        self.generators[key] = sample.generator
        self.exts[key] = original.ext
        if original.lossy:
            self.lossy.add(key)
        height, width = original.pixels.shape[:2]
        candidate = Candidate(key, original.stored, original.pixels, sample.prompt, image_ext=original.ext)

        def record(c: Candidate) -> dict[str, Any]:
            return imported_sample_json(
                key=key,
                source=run.config.source,
                prompt=sample.prompt.to_json(),
                index=n,
                width=width,
                height=height,
                seed=sample.seed,
                generation={
                    "steps": sample.steps,
                    "guidance": sample.guidance,
                    "width": sample.width,
                    "height": sample.height,
                    "negative_prompt": sample.prompt.negative,
                },
                imported={
                    "generator": sample.generator,
                    "sampler": sample.sampler,
                    "input": str(run.config.src),
                    "form": run.input.form,
                    "row": raw.row,
                    "original_name": sample.name,
                    "original_sha256": digest,
                    "original_format": original.format,
                    "lossy": original.lossy,
                    "converted": original.converted,
                },
                candidate=c,
            )

        return candidate, record

    def _batches(self):
        pending = []
        for raw in self.chunk:
            made = self._candidate(raw)
            if made is None:
                self.run.bar.update(1)
                continue
            pending.append(made)
            if len(pending) >= self.run.runtime.batch_size:
                yield pending
                pending = []
        if pending:
            yield pending

    def write(self) -> dict[str, Any]:
        run, source, index = self.run, self.run.config.source, self.index
        discard_shard(run.out, source, index)
        began = time.perf_counter()
        data = model_data_dir(run.out, source)
        reject = model_reject_dir(run.out, source) / reject_name(index)
        outcome = filter_shard(self._batches(), run.chain, data / shard_name(index), reject, run.bar.update)
        kept = set(outcome.keys)
        for item in self.imported:
            item["kept"] = item["key"] in kept
        stats = {
            "shard": index,
            "model": source,
            "source": source,
            "kind": "import",
            "tar": shard_name(index),
            "input": run.entry["id"],
            "rows": [self.chunk[0].ordinal, self.chunk[-1].ordinal + 1],
            "planned": len(self.imported),
            **outcome.stats(run.chain),
            "imported": self.imported,
            "duplicates": self.duplicates,
            "bad_rows": self.bad_rows,
            "formats": dict(Counter(self.exts[k] for k in outcome.keys)),
            "lossy": len(kept & self.lossy),
            "generators": dict(Counter(self.generators[k] for k in outcome.keys)),
            "seconds": time.perf_counter() - began,
        }
        write_json_atomic(data / stats_name(index), stats)
        return stats


@dataclass
class _Run:
    out: Path
    config: ImportConfig
    runtime: ImportRuntime
    input: ImportInput
    kind: str | None
    chain: FilterChain
    entry: dict[str, Any]
    state: _SourceState
    report: ImportReport
    bar: Any = None

    @property
    def generator(self) -> str:
        return self.config.generator or self.config.source


def import_images(
    config: ImportConfig,
    out: Path,
    runtime: ImportRuntime | None = None,
    *,
    overwrite: bool = False,
    command: str | None = None,
) -> ImportReport:
    """Import every row of `config.src` into `out` as source `config.source`; resume what is done."""
    runtime = runtime or ImportRuntime()
    if runtime.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {runtime.batch_size}")
    out = Path(out)
    began = time.perf_counter()
    source = open_input(config.src, config.images_dir, config.split, runtime.progress)
    kind = dialect(source)
    chain = config.filters or load_filter_preset(default_import_preset(out, config.source))
    chain.prepare(pick_device(runtime.device))  # weights of learned metrics load now, before anything is written
    finish_pending_swap(out)
    entry = _entry(config, source, kind, command)
    manifest = prepare_import(out, config.source, chain, entry, overwrite)
    chain.reset()
    state = _restore(out, manifest, config.source, entry["id"], chain)
    total = min(source.count, config.limit or source.count)
    report = ImportReport(out, config.source, source.form, total)
    report.resumed_rows = sum(min(stop, total) - min(start, total) for start, stop in state.covered)
    run = _Run(out, config, runtime, source, kind, chain, entry, state, report)
    rows = source.rows(lambda o: o < total and not state.is_covered(o))
    with tqdm(
        total=total - report.resumed_rows,
        unit="img",
        desc=f"import {config.source}",
        disable=not runtime.progress,
        dynamic_ncols=True,
    ) as run.bar:
        for chunk in _chunks(rows, config.shard_size):
            stats = _ShardImport(run, state.next_index, chunk).write()
            state.next_index += 1
            report.shards += 1
            report.kept += stats["kept"]
            report.rejected += stats["rejected"]
            report.duplicates += len(stats["duplicates"])
            report.lossy += stats["lossy"]
    write_dataset_card(out)
    report.source_kept = sum(int(s.get("kept") or 0) for s in finished_shards(out, config.source).values())
    report.seconds = time.perf_counter() - began
    return report
