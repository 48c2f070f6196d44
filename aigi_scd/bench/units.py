"""The unit of `compress`'s work and of resuming: one (codec, target, source shard), with the stats file that
marks it done and the rows it holds, and the writer that streams its samples into its tar."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigi_scd.bench import semantic_fidelity
from aigi_scd.bench.environment import row_fields
from aigi_scd.bench.journal import UnitJournal, keys_digest, partial_dir
from aigi_scd.bench.metric_revisions import outdated_metrics, revisions
from aigi_scd.bench.options import CodecChoice, config_name
from aigi_scd.bench.originals import ORIGINAL, originals_problem
from aigi_scd.bench.sources import Item, Source, SourceShard
from aigi_scd.codec import CodecPreset
from aigi_scd.dataset.files import read_json, write_json_atomic
from aigi_scd.dataset.sample import json_bytes, sha256
from aigi_scd.dataset.shards import AtomicTarWriter

STATS_VERSION = 1


def preset_fingerprint(preset: CodecPreset) -> str:
    """Changes whenever anything that shapes the codec's output changes (its registry file path does not count)."""
    data = {k: v for k, v in dataclasses.asdict(preset).items() if k != "source"}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Unit:
    codec: CodecChoice
    target: float
    shard: SourceShard
    out: Path
    environment: dict[str, Any] | None = None  # libraries, device, dtype (bench/environment.py); None: unchecked

    @property
    def config(self) -> str:
        return config_name(self.codec.name, self.target, self.codec.preset.oracle)

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
        and (unit.environment is None or stats.get("environment") == unit.environment)
        and (not any(r["status"] == "ok" for r in stats.get("rows", [])) or unit.tar.is_file())
        and originals_problem(stats.get("rows", []), unit.shard.digests()) is None
    )
    if not same:
        return "todo", None
    missing = missing_metrics(stats, metrics)
    no_fidelity = any(semantic_fidelity.RECALL not in r for r in stats.get("rows", []) if r["status"] == "ok")
    return ("rescore" if missing or no_fidelity else "done"), stats


def missing_metrics(stats: dict[str, Any], metrics: list[str]) -> list[str]:
    """Requested metrics a unit's rows lack, or hold as computed under an earlier convention (``ms_ssim`` on Y)."""
    outdated = outdated_metrics(stats)
    return [m for m in metrics if m not in stats.get("metrics", []) or m in outdated]


def unit_journal(unit: Unit, metrics: list[str], mode: str) -> UnitJournal:
    """Where the finished images of the unit wait while it is made (``mode``: encode, or rescore a finished one);
    parts made with another preset, other metrics, other libraries or from other originals are not reused."""
    identity = {
        "mode": mode,
        "codec_fingerprint": preset_fingerprint(unit.codec.preset),
        "metrics": list(metrics),
        "metric_revisions": revisions(metrics),
        "environment": unit.environment,
        "originals": keys_digest(sorted(f"{k}:{v}" for k, v in unit.shard.digests().items())),
    }
    return UnitJournal(partial_dir(unit.folder, unit.shard.name), unit.shard.keys, identity)


def result_row(unit: Unit, item: Item, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": item.key,
        "source": unit.shard.source,
        "source_kind": unit.shard.kind,
        "origin": item.origin,
        "codec": unit.codec.name,
        "oracle": unit.codec.preset.oracle,
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
        ORIGINAL: sha256(item.data),
        "fixed_bytes": result.get("fixed_bytes"),
        "decode_verified": result.get("decode_verified"),
        "error": result.get("error") if result["status"] != "ok" else None,
        **row_fields(unit.environment),
        **semantic_fidelity.empty_scores(),
        "scores": {},
    }


def sample_record(row: dict[str, Any], info: str) -> dict[str, Any]:
    """The json stored beside a bitstream and its reconstruction (fixed shape; scores as a name/value list)."""
    keys = ("key", "source", "source_kind", "origin", "codec", "oracle", "target_bpp", "bytes", "bpp", "width")
    record = {k: row.get(k) for k in (*keys, "height", ORIGINAL)}
    record.update(
        encode_seconds=row["encode_seconds"],
        decode_seconds=row["decode_seconds"],
        bitstream_sha256=row["bitstream_sha256"],
        scores=[{"name": k, "value": v} for k, v in sorted(row["scores"].items())],
        info=info,
    )
    return record


def plan_units(out: Path, sources: list[Source], codecs: list[CodecChoice], targets: list[float]) -> list[Unit]:
    """Every (codec, target, shard), sources first so each set finishes early and evenly. An oracle codec
    (semantics from the generation prompt) runs only on AIGI sets: other images have no prompt to read."""
    return [
        Unit(codec, target, shard, Path(out))
        for source in sources
        for shard in source.shards
        for codec in codecs
        if (source.kind == "aigi" or not codec.preset.oracle) and (codec.sets is None or source.name in codec.sets)
        for target in codec.targets(targets)
    ]


class UnitWriter:
    """A unit's tar, written sample by sample in plan order, and its rows; the stats file last."""

    def __init__(self, unit: Unit, metrics: list[str], rows: list[dict] | None = None):
        self.unit, self.metrics = unit, metrics
        self.rows: list[dict[str, Any]] = rows if rows is not None else []
        self.tar = AtomicTarWriter(unit.tar)

    def add(self, row: dict[str, Any], sample: tuple[bytes, bytes, str] | None) -> None:
        if sample is not None:
            bitstream, png, info = sample
            self.tar.write(
                row["key"], {"bitstream": bitstream, "png": png, "json": json_bytes(sample_record(row, info))}
            )

    def finish(self) -> None:
        """The tar first (atomic), then the stats file that marks the unit done."""
        unit = self.unit
        written = self.tar.commit()
        if written is None:
            unit.tar.unlink(missing_ok=True)  # nothing reached the target: no stale tar from an earlier run
        counts = {s: sum(r["status"] == s for r in self.rows) for s in ("ok", "unreachable", "error")}
        write_json_atomic(
            unit.stats,
            {
                "version": STATS_VERSION,
                "unit": unit.shard.name,
                "config": unit.config,
                "codec": unit.codec.name,
                "codec_fingerprint": preset_fingerprint(unit.codec.preset),
                "environment": unit.environment,
                "target_bpp": unit.target,
                "source": unit.shard.source,
                "source_kind": unit.shard.kind,
                "keys": unit.shard.keys,
                "metrics": list(self.metrics),
                "metric_revisions": revisions(self.metrics),
                "counts": counts,
                "rows": self.rows,
            },
        )
