"""Which finished `compress` units the benchmark tables may use: those whose images are still the images of
their source as it is now.

A unit records the keys it compressed and, in every row, its original's sha256. After ``aigi-scd filter``
changes a build (or files are added to an image folder), units of codecs and targets that were not compressed
again still hold the old image set; after an original is replaced under its name (or a build shard is made
again with other bytes), they hold rows of images that are no longer there. Averaging them beside redone units
would compare codecs over different images. Such units, and units whose stats file cannot be read, are left out
of the tables and reported, never dropped in silence; ``compress`` redoes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.bench.originals import originals_problem
from aigi_scd.bench.sources import Source, build_sources, folder_source
from aigi_scd.dataset.files import read_json
from aigi_scd.dataset.shards import source_names
from aigi_scd.errors import AigiScdError, DamagedDataError

COMPRESS_MANIFEST = "compress.json"
DEFAULT_FOLDER_SHARD_SIZE = 64  # compress --shard-size's default, for outputs written before it was recorded


@dataclass
class CurrentSources:
    """The sources of an output folder as they are now; `unknown` names sets that cannot be read any more
    (an image folder moved away), whose units are kept as they are."""

    by_name: dict[str, Source] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # name → why it cannot be checked
    pending: set[str] = field(default_factory=set)  # source shards (unit names) planned but not made yet


def recorded_sources(out: Path) -> dict[str, dict[str, Any]]:
    """``compress.json``'s sources (name → kind, root, images, shard_size); empty when there is none."""
    path = Path(out) / COMPRESS_MANIFEST
    try:
        recorded = read_json(path).get("sources") if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def current_sources(out: Path, given: Iterable[Source] = (), pending: Iterable[str] = ()) -> CurrentSources:
    """Every source of `out` as it is now: the `given` ones (this run's), the build's models, and the image
    folders recorded in compress.json. `pending` names source shards a build plans but has not made (yet, or
    again after a repair set them aside): their units wait rather than count as stale."""
    out = Path(out)
    current = CurrentSources({s.name: s for s in given}, pending=set(pending))
    if (out / "build.json").is_file():
        try:
            for source in build_sources(out):
                current.by_name.setdefault(source.name, source)
        except DamagedDataError as exc:  # its units cannot be judged until the build is repaired
            for model in _build_models(out):
                current.unknown.setdefault(model, f"its build is damaged ({exc.problem})")
        except AigiScdError:
            pass  # no finished shard with images: every AIGI unit is stale (its images are gone)
    for name, info in recorded_sources(out).items():
        if name in current.by_name or not isinstance(info, dict) or info.get("kind") != "natural":
            continue
        root = Path(str(info.get("root")))
        try:
            current.by_name[name] = folder_source(
                root, int(info.get("shard_size") or DEFAULT_FOLDER_SHARD_SIZE), name=name
            )
        except AigiScdError as exc:
            current.unknown[name] = f"its image folder cannot be read ({exc})"
    return current


def _build_models(out: Path) -> list[str]:
    try:
        manifest = read_json(Path(out) / "build.json")
        return [str(m) for m in source_names(manifest)]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return []


def unit_issues(out: Path, current: CurrentSources) -> dict[Path, str]:
    """Stats file → why its unit must stay out of the tables: unreadable, or its keys are not the keys of its
    source shard as it is now. Units of sources that cannot be read are not judged."""
    issues: dict[Path, str] = {}
    for path in sorted((Path(out) / "compressed").glob("*/*.stats.json")):
        try:
            stats = read_json(path)
            source, unit, keys = stats["source"], stats["unit"], list(stats["keys"])
            rows = [dict(r) for r in stats.get("rows") or []]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            issues[path] = f"its stats file is unreadable ({type(exc).__name__}: {exc})"
            continue
        if source in current.unknown or unit in current.pending:
            continue
        shards = current.by_name[source].shards if source in current.by_name else []
        shard = next((s for s in shards if s.name == unit), None)
        if shard is None:
            issues[path] = f"its source shard {unit} no longer exists"
        elif shard.keys != keys:
            gone = [k for k in keys if k not in set(shard.keys)]
            new = [k for k in shard.keys if k not in set(keys)]
            example = (
                f"{gone[0]} is no longer in it"
                if gone
                else (f"{new[0]} is new in it" if new else "their order changed")
            )
            issues[path] = (
                f"its {len(keys)} images are not the {len(shard.keys)} of source shard {unit} as it is now "
                f"({example}): the source changed after it was compressed"
            )
        else:
            try:
                changed = originals_problem(rows, shard.digests())
            except AigiScdError as exc:
                changed = f"the originals of source shard {unit} cannot be read ({exc})"
            if changed:
                issues[path] = changed
    return issues


def describe_left_out(issues: dict[Path, str], out: Path, limit: int = 3) -> list[str]:
    """Lines for the terminal: which units the tables leave out and how to bring them back."""
    if not issues:
        return []
    lines = [
        f"Left out of the tables: {len(issues)} unit(s) that no longer match their source (compressing again with "
        "their codecs and targets redoes them; `aigi-scd verify` lists them all):"
    ]
    for path, why in list(issues.items())[:limit]:
        lines.append(f"  {path.relative_to(out).as_posix().removesuffix('.stats.json')}: {why}")
    return lines
