"""What a build folder holds, read from its files only: ``build.json``, the shard stats files, and the json of every
kept and rejected sample. The dataset card, the datasheet and the pictures are all drawn from this one reading, so
whatever a stage adds to the folder (a model, an imported source, a re-filter) shows up in them.

Only json members are read from the tars (a tar is opened for random access and the PNGs are skipped), so reading
a large build costs little more than its json.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.dataset.shards import (
    IMAGE_FIELDS,
    REPAIR_HINT,
    finished_shards,
    model_data_dir,
    model_reject_dir,
    read_manifest,
    reject_name,
    repair_hint,
    shard_name,
    source_names,
)
from aigi_scd.errors import DamagedDataError


@dataclass(frozen=True)
class FilterScore:
    name: str
    score: float | None
    passed: bool


@dataclass(frozen=True)
class SampleFacts:
    """The fields of one sample's json that the card counts (missing fields are None)."""

    key: str
    kept: bool
    category: str | None
    style: str | None
    prompt_id: str | None
    width: int | None
    height: int | None
    steps: int | None
    guidance: float | None
    dtype: str | None
    device: str | None
    pipeline_class: str | None
    scheduler_class: str | None
    licence: str | None
    truncated: bool | None
    versions: tuple[tuple[str, str], ...]
    filters: tuple[FilterScore, ...]
    tar: Path | None = None  # where its PNG is (kept samples)
    member: str | None = None

    @property
    def size(self) -> str | None:
        return f"{self.width}×{self.height}" if self.width and self.height else None


@dataclass
class SourceContents:
    """One source of a build (a model, or images imported into ``data/<source>/``): its finished shards' stats,
    its card snapshot when it has one, and the facts of its kept and rejected samples."""

    name: str
    card: dict[str, Any] | None
    stats: list[dict[str, Any]]
    kept: list[SampleFacts] = field(default_factory=list)
    rejected: list[SampleFacts] = field(default_factory=list)

    def total(self, field_name: str) -> int:
        return sum(int(s.get(field_name) or 0) for s in self.stats)

    @property
    def planned(self) -> int:
        return self.total("planned")

    @property
    def generation_seconds(self) -> float:
        return sum(float(s.get("generation_seconds") or 0) for s in self.stats)

    @property
    def samples(self) -> list[SampleFacts]:
        return [*self.kept, *self.rejected]

    @property
    def imported(self) -> bool:
        """Images made elsewhere and added with `aigi-scd import` (its shards' stats say ``kind: import``)."""
        return bool(self.stats) and all(s.get("kind") == "import" for s in self.stats)

    def licences(self) -> list[str]:
        """The licences its samples record (or its card states), in first-seen order."""
        found = [s.licence for s in self.kept if s.licence]
        if not found and self.card and self.card.get("license"):
            found = [self.card["license"]]
        return list(dict.fromkeys(found))


@dataclass
class BuildContents:
    out: Path
    manifest: dict[str, Any]
    sources: list[SourceContents]

    @property
    def kept(self) -> int:
        return sum(len(s.kept) for s in self.sources)

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The build's filter preset's steps, in order, with their settings (none in a folder of imports only)."""
        return list(((self.manifest.get("config") or {}).get("filters") or {}).get("steps") or [])

    def steps_of(self, source: str) -> list[dict[str, Any]]:
        """The steps of the preset that judged `source`: an imported source keeps its own."""
        record = next((r for r in self.manifest.get("imports") or [] if r.get("source") == source), None)
        return list((record.get("filters") or {}).get("steps") or []) if record else self.steps

    def licences(self) -> list[str] | None:
        """Every source's licences, or None when a source with images records none (the set's licence is then
        unknown and must not be claimed)."""
        found: list[str] = []
        for source in self.sources:
            licences = source.licences()
            if source.kept and not licences:
                return None
            found += licences
        return sorted(set(found))


def _facts(record: dict[str, Any], kept: bool, tar: Path | None = None, member: str | None = None) -> SampleFacts:
    prompt = record.get("prompt") or {}
    generation = record.get("generation") or {}
    card = record.get("card") or {}
    return SampleFacts(
        key=record.get("key") or "",
        kept=kept,
        category=prompt.get("category"),
        style=prompt.get("style"),
        prompt_id=prompt.get("id"),
        width=record.get("width"),
        height=record.get("height"),
        steps=generation.get("steps"),
        guidance=generation.get("guidance"),
        dtype=generation.get("dtype"),
        device=generation.get("device"),
        pipeline_class=card.get("pipeline_class"),
        scheduler_class=card.get("scheduler_class"),
        licence=card.get("license"),
        truncated=generation.get("prompt_truncated"),
        versions=tuple(sorted((record.get("versions") or {}).items())),
        filters=tuple(
            FilterScore(f.get("name", "?"), _number(f.get("score")), bool(f.get("passed")))
            for f in record.get("filters") or []
        ),
        tar=tar,
        member=member,
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


@contextmanager
def _damage_named(tar_path: Path) -> Iterator[None]:
    """A tar that cannot be read (cut short, a damaged header, a json that does not parse) as one line naming the
    file and the repair, never as a bug: the card is drawn from files a crash or a full disk may have damaged."""
    try:
        yield
    except (tarfile.TarError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DamagedDataError(f"{tar_path}: the tar is damaged ({exc})", repair_hint(tar_path)) from None
    except FileNotFoundError:
        raise DamagedDataError(f"{tar_path}: the tar is missing", repair_hint(tar_path)) from None


def iter_json(tar_path: Path) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Each sample's json in a shard, with the name of its image member (a PNG; an imported original may be a JPEG
    or WebP), None when it has none. DamagedDataError (file and repair named) for a tar that cannot be read."""
    with _damage_named(tar_path), tarfile.open(tar_path, mode="r:") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        for name, member in members.items():
            if not name.endswith(".json"):
                continue
            record = json.loads(tar.extractfile(member).read())
            stem = name[: -len(".json")]
            yield record, next((f"{stem}.{ext}" for ext in IMAGE_FIELDS if f"{stem}.{ext}" in members), None)


def read_member(tar_path: Path, member: str) -> bytes:
    with _damage_named(tar_path), tarfile.open(tar_path, mode="r:") as tar:
        return tar.extractfile(member).read()


def read_members(tar_path: Path, names: Iterable[str]) -> dict[str, bytes]:
    """The named members of a tar that exist (others are left out), in one pass."""
    wanted = set(names)
    found = {}
    with _damage_named(tar_path), tarfile.open(tar_path, mode="r:") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name in wanted:
                found[member.name] = tar.extractfile(member).read()
    return found


def read_build(out: Path) -> BuildContents:
    """Everything the card needs from the build in `out`."""
    out = Path(out)
    manifest = read_manifest(out)  # missing or unreadable: one line naming it, never read as empty
    sources = []
    for name in source_names(manifest):
        shards = finished_shards(out, name)
        source = SourceContents(name, (manifest.get("cards") or {}).get(name), [shards[i] for i in sorted(shards)])
        for index in sorted(shards):
            kept_tar = model_data_dir(out, name) / shard_name(index)
            if kept_tar.is_file():
                for record, png in iter_json(kept_tar):
                    source.kept.append(_facts(record, True, kept_tar, png))
            reject_tar = model_reject_dir(out, name) / reject_name(index)
            if reject_tar.is_file():
                source.rejected += [_facts(record, False) for record, _ in iter_json(reject_tar)]
        sources.append(source)
    return BuildContents(out, manifest, sources)


def shortfalls(out: Path, manifest: dict[str, Any] | None = None) -> list[str]:
    """What `out` lacks of what its build.json says was made, from the stats files alone (cheap): a generated
    model whose finished shards cover fewer images than planned (a deleted data folder, an unfinished build), an
    imported source with no finished shard, a finished shard whose kept tar is missing. Empty when whole."""
    out = Path(out)
    manifest = manifest if manifest is not None else read_manifest(out)
    config = manifest.get("config") or {}
    per_model = len(config.get("prompt_ids") or []) * int(config.get("images_per_prompt") or 1)
    generated = set(manifest.get("models") or []) if config else set()
    found = []
    for name in source_names(manifest):
        shards = finished_shards(out, name)
        folder = model_data_dir(out, name)
        where = f"{folder.relative_to(out)}/" + ("" if folder.is_dir() else " is missing")
        if name in generated:
            done = sum(int(s.get("planned") or 0) for s in shards.values())
            if done < per_model:
                missing = f"{per_model - done} of its {per_model} planned images are in no finished shard"
                found.append(f"{name}: {missing} ({where})")
        elif not shards:
            found.append(f"{name}: imported, but no shard of it is finished ({where})")
        for index, stats in sorted(shards.items()):
            tar = folder / shard_name(index)
            if int(stats.get("kept") or 0) and not tar.is_file():
                found.append(f"{name}: {tar.relative_to(out)} is missing ({stats['kept']} kept images)")
    return found


def shortfall_fix(out: Path) -> str:
    return REPAIR_HINT.format(out=out)
