"""`aigi-scd verify` on a build folder: every planned shard against its stats file and the build's plan, and
the repairs that need the plan (rebuilding a stats file from its tars; setting a damaged shard aside so the
build command makes it again).

For every shard of the plan (build.json): its tars open to their end, every sample decodes and matches the
sha256 its json records, kept + rejected keys are exactly the planned keys, the stats file agrees with the
tars, and no key appears in two shards or two models.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aigi_scd.build.batching import DAMAGED_STATS_SUFFIX, batches_of
from aigi_scd.build.plan import shard_plan
from aigi_scd.dataset.commands import command_for_folder
from aigi_scd.dataset.files import write_json_atomic
from aigi_scd.dataset.integrity import Finding, readable_keys, sample_problems, shard_files_problem
from aigi_scd.dataset.shards import (
    discard_shard,
    imported_sources,
    iter_samples,
    model_data_dir,
    model_reject_dir,
    read_manifest,
    read_stats,
    reject_name,
    shard_name,
    source_names,
    stats_files,
    stats_name,
)
from aigi_scd.errors import DamagedDataError

DAMAGED_SUFFIX = DAMAGED_STATS_SUFFIX  # a damaged shard set aside by a repair: out of every config, kept as evidence
ORDER_SHARD = 10


def build_command(manifest: dict[str, Any], out: Path) -> str:
    """The build's recorded command, writing into `out` (the folder verified, wherever the build first ran)."""
    command = manifest.get("command")
    if not command:
        return f"the original `aigi-scd build` command with --out {out} (its options are in build.json)"
    return command_for_folder(command, out)


def unmade_shards(out: Path) -> set[str]:
    """``<model>-NNNNN`` of every shard the plan has and no stats file marks done (compressed units of those
    wait for them); empty when build.json cannot be read."""
    try:
        plans = shard_plan(read_manifest(out))
    except DamagedDataError:
        return set()
    return {
        f"{model}-{index:05d}"
        for model, shards in plans.items()
        for index in range(len(shards))
        if index not in stats_files(out, model)
    }


def check_build(out: Path, deep: bool = True, on_sample: Callable[[], None] | None = None) -> list[Finding]:
    """Every problem of the build in `out` (shards, stats, keys); the card and compressed sets are checked
    elsewhere (:mod:`aigi_scd.verify`)."""
    out = Path(out)
    try:
        manifest = read_manifest(out)
        plans = shard_plan(manifest)
    except DamagedDataError as exc:
        return [Finding(out / "build.json", exc.problem)]
    findings: list[Finding] = []
    owner: dict[str, str] = {}  # key → the shard that holds it
    command = build_command(manifest, out)
    for model, shards in plans.items():
        unmade = []
        for index, planned in enumerate(shards):
            found = _check_shard(out, manifest, model, index, planned, deep, owner, on_sample)
            if found == "unmade":
                unmade.append(index)
            else:
                findings += found
        if unmade:
            findings.append(
                Finding(
                    model_data_dir(out, model),
                    f"{model}: {len(unmade)} of {len(shards)} shards are not made yet (first: {unmade[0]})",
                    regenerate=command,
                )
            )
        for index, path in stats_files(out, model).items():
            if index >= len(shards):
                findings.append(_extra_shard(out, model, index, path, len(shards)))
    for source in imported_sources(manifest):
        for index in stats_files(out, source):
            findings += _check_imported_shard(out, source, index, deep, owner, on_sample)
    for source in source_names(manifest):
        findings += _stray_tars(out, source, len(plans.get(source, [])), owner)
    data = out / "data"
    sources = set(source_names(manifest))
    for folder in sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else []:
        if folder.name not in sources and any(folder.glob("*.tar")):
            findings.append(
                Finding(folder, f"{folder.name} is not a model of this build, but the default config loads its tars")
            )
    return findings


def _check_shard(
    out: Path,
    manifest: dict[str, Any],
    model: str,
    index: int,
    planned: list[str],
    deep: bool,
    owner: dict[str, str],
    on_sample: Callable[[], None] | None,
) -> list[Finding] | str:
    kept_path = model_data_dir(out, model) / shard_name(index)
    reject_path = model_reject_dir(out, model) / reject_name(index)
    stats_path = model_data_dir(out, model) / stats_name(index)
    label = f"{model} shard {index}"
    if not stats_path.exists() and not kept_path.exists() and not reject_path.exists():
        return "unmade"
    kept_keys, rejected_keys, damage = [], [], []
    for path, keys in ((kept_path, kept_keys), (reject_path, rejected_keys)):
        if path.exists():
            if deep:
                found, problems = sample_problems(path, on_sample)
            else:
                found, problems = _listed(path)
            keys += found
            damage += problems
    both = sorted(set(kept_keys) & set(rejected_keys))
    if both:
        damage.append(f"key {both[0]} is both kept and rejected (a duplicated key)")
    for key in kept_keys + rejected_keys:
        if key in owner and owner[key] != label:
            damage.append(f"key {key} is also in {owner[key]} (a duplicated key)")
        owner.setdefault(key, label)
    missing = [k for k in planned if k not in set(kept_keys + rejected_keys)]
    foreign = [k for k in kept_keys + rejected_keys if k not in set(planned)]
    if missing:
        damage.append(f"{len(missing)} of its {len(planned)} planned samples are in neither tar (first: {missing[0]})")
    if foreign:
        damage.append(f"{len(foreign)} samples are not in its plan (first: {foreign[0]})")
    if damage and not stats_path.exists():  # never finished: what a killed run leaves, not damage
        return [
            Finding(
                kept_path,
                f"{label}: unfinished, with the partial tars of an interrupted run ({damage[0]})",
                repair="remove its leftover tars (the build makes the shard again)",
                regenerate=build_command(manifest, out),
                action=lambda: _discard(out, model, index),
                order=ORDER_SHARD,
            )
        ]
    if damage:
        return [
            Finding(
                kept_path,
                f"{label}: " + "; ".join(damage[:3]) + (f" (+{len(damage) - 3} more)" if len(damage) > 3 else ""),
                repair="set its tars and stats file aside (*.damaged), so the build makes it again",
                regenerate=build_command(manifest, out),
                action=lambda: set_shard_aside(out, model, index),
                order=ORDER_SHARD,
            )
        ]
    try:
        stats = read_stats(stats_path) if stats_path.exists() else None
    except DamagedDataError as exc:
        problem = exc.problem
    else:
        if stats is None:
            problem = f"{stats_path}: the stats file is missing, though its tars are complete"
        else:
            problem = shard_files_problem(out, model, index, stats)
            if problem is None and stats.get("planned") != len(planned):
                problem = f"{stats_path}: planned {stats.get('planned')}, but the plan has {len(planned)} samples"
    if problem is None:
        return []
    return [
        Finding(
            stats_path,
            f"{label}: {problem}",
            repair="rebuild the stats file from the shard's tars (which are complete and match the plan)",
            action=lambda: rebuild_stats(out, manifest, model, index, planned),
            order=ORDER_SHARD,
        )
    ]


def _check_imported_shard(
    out: Path, source: str, index: int, deep: bool, owner: dict[str, str], on_sample: Callable[[], None] | None
) -> list[Finding]:
    """An imported shard has no plan to check against: its tars must decode, match their hashes and agree with
    its stats file, and its keys be unique. A damaged one is set aside; the import command brings it back."""
    kept_path = model_data_dir(out, source) / shard_name(index)
    reject_path = model_reject_dir(out, source) / reject_name(index)
    label = f"{source} shard {index}"
    damage: list[str] = []
    for path in (kept_path, reject_path):
        if path.exists():
            found, problems = sample_problems(path, on_sample) if deep else _listed(path)
            damage += problems
            for key in found:
                if key in owner and owner[key] != label:
                    damage.append(f"key {key} is also in {owner[key]} (a duplicated key)")
                owner.setdefault(key, label)
    try:
        problem = shard_files_problem(out, source, index, read_stats(model_data_dir(out, source) / stats_name(index)))
    except DamagedDataError as exc:
        problem = exc.problem
    if problem:
        damage.append(problem)
    if not damage:
        return []
    return [
        Finding(
            kept_path,
            f"{label}: " + "; ".join(damage[:3]) + (f" (+{len(damage) - 3} more)" if len(damage) > 3 else ""),
            repair="set its tars and stats file aside (*.damaged)",
            regenerate=f"aigi-scd import ... --source {source} --out {out} (the import that made it; see build.json)",
            action=lambda: set_shard_aside(out, source, index),
            order=ORDER_SHARD,
        )
    ]


def _stray_tars(out: Path, source: str, planned: int, owner: dict[str, str]) -> list[Finding]:
    """Tars in a source's folder that its config loads (``train-*.tar``) but no shard accounts for: not in the plan
    and without a stats file (a copied or renamed shard). load_dataset would read their samples twice."""
    folder = model_data_dir(out, source)
    accounted = {shard_name(i) for i in range(planned)} | {shard_name(i) for i in stats_files(out, source)}
    findings = []
    for tar in sorted(folder.glob("train-*.tar")) if folder.is_dir() else []:
        if tar.name in accounted:
            continue
        keys, problems = readable_keys(tar)
        twice = [k for k in keys if k in owner]
        what = (
            f"{len(twice)} of its {len(keys)} samples are also in {owner[twice[0]]} (duplicated keys)"
            if twice
            else (f"{len(keys)} samples" + (f"; {problems[0]}" if problems else ""))
        )
        findings.append(
            Finding(
                tar,
                f"{source}: {tar.name} belongs to no shard of the build (no stats file, not in the plan), yet its "
                f"config loads it: {what}",
                repair=f"set it aside (*{DAMAGED_SUFFIX}), out of every config",
                action=lambda tar=tar: _set_tar_aside(tar, out),
                order=ORDER_SHARD,
            )
        )
    return findings


def _set_tar_aside(tar: Path, out: Path) -> str:
    os.replace(tar, tar.with_name(tar.name + DAMAGED_SUFFIX))
    return f"set {tar.relative_to(out)} aside ({tar.name}{DAMAGED_SUFFIX}), out of every config"


def _listed(path: Path) -> tuple[list[str], list[str]]:
    return readable_keys(path)


def _extra_shard(out: Path, model: str, index: int, path: Path, planned: int) -> Finding:
    def remove() -> str:
        for name in (shard_name(index), stats_name(index)):
            (model_data_dir(out, model) / name).unlink(missing_ok=True)
        (model_reject_dir(out, model) / reject_name(index)).unlink(missing_ok=True)
        return f"removed {model} shard {index}, which the plan does not have"

    return Finding(
        path,
        f"{model} shard {index}: the plan has {planned} shards, so this one belongs to no build of this configuration",
        repair="remove the shard",
        action=remove,
        order=ORDER_SHARD,
    )


def _discard(out: Path, model: str, index: int) -> str:
    discard_shard(out, model, index)
    return f"removed the leftovers of unfinished {model} shard {index}"


def set_shard_aside(out: Path, model: str, index: int) -> str:
    """Rename a damaged shard's tars and its stats file to ``*.damaged`` (out of every config, no longer marking
    the shard done); the build that makes it again reads from the old stats file the batches its images were
    made in (:mod:`aigi_scd.build.batching`)."""
    moved = []
    stats = model_data_dir(out, model) / stats_name(index)
    for path in (model_data_dir(out, model) / shard_name(index), model_reject_dir(out, model) / reject_name(index)):
        if path.exists():
            os.replace(path, path.with_name(path.name + DAMAGED_SUFFIX))
            moved.append(path.name)
    if stats.exists():
        os.replace(stats, stats.with_name(stats.name + DAMAGED_STATS_SUFFIX))
        moved.append(stats.name)
    aside = f"{', '.join(moved)} → *{DAMAGED_SUFFIX}" if moved else "no file was left"
    return f"set {model} shard {index} aside ({aside}); the build makes it again"


def rebuild_stats(out: Path, manifest: dict[str, Any], model: str, index: int, planned: list[str]) -> str:
    """A stats file recomputed from the shard's tars (complete, matching the plan): counts, keys, per-filter
    results, device and dtype from the samples' json; timings from the old stats file where it can be read;
    ``filter_state`` left empty (a resumed build or filter recomputes it from the kept images)."""
    kept = [json.loads(s["json"]) for s in _samples(model_data_dir(out, model) / shard_name(index))]
    rejected = [json.loads(s["json"]) for s in _samples(model_reject_dir(out, model) / reject_name(index))]
    steps = (manifest["config"].get("filters") or {}).get("steps") or []
    names = [step["name"] for step in steps]
    counts = {name: {"checked": 0, "passed": 0} for name in names}
    rejects_by_filter: dict[str, int] = {}
    for record in kept + rejected:
        for result in record.get("filters") or []:
            entry = counts.setdefault(result["name"], {"checked": 0, "passed": 0})
            entry["checked"] += 1
            entry["passed"] += int(bool(result["passed"]))
    for record in rejected:
        failed = next((r["name"] for r in record.get("filters") or [] if not r["passed"]), "unknown")
        rejects_by_filter[failed] = rejects_by_filter.get(failed, 0) + 1
    stats_path = model_data_dir(out, model) / stats_name(index)
    try:
        old = read_stats(stats_path)
    except DamagedDataError:
        old = {}
    generation = (kept + rejected)[0].get("generation") or {} if kept + rejected else {}
    by_key = {r["key"]: r for r in kept + rejected}
    calls = batches_of([(by_key[k].get("generation") or {}).get("batch_size") for k in planned if k in by_key])
    stats = {
        "shard": index,
        "model": model,
        "tar": shard_name(index),
        "planned": len(planned),
        "kept": len(kept),
        "rejected": len(rejected),
        "keys": [r["key"] for r in kept],
        "rejects_by_filter": rejects_by_filter,
        "filters": names,
        "preset": (manifest["config"].get("filters") or {}).get("preset"),
        "filter_counts": counts,
        "filter_state": {},
        "filter_seconds": old.get("filter_seconds"),
        "seconds": old.get("seconds"),
        "generation_seconds": old.get("generation_seconds"),
        "images_per_second": old.get("images_per_second"),
        "device": generation.get("device"),
        "dtype": generation.get("dtype"),
        "batch_size": old.get("batch_size") or (calls[0] if calls else generation.get("batch_size")),
        "batches": calls,
        "prompts_truncated": sum(bool((r.get("generation") or {}).get("prompt_truncated")) for r in kept + rejected),
        "rebuilt": True,
    }
    if old.get("refiltered"):
        stats["refiltered"] = True
    write_json_atomic(stats_path, stats)
    return f"rebuilt {stats_path.relative_to(out)} from its tars ({len(kept)} kept, {len(rejected)} rejected)"


def _samples(path: Path) -> list[dict[str, Any]]:
    return list(iter_samples(path)) if path.exists() else []
