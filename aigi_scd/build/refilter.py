"""`aigi-scd filter OUT --preset NAME`: re-judge a finished build with another filter preset, without
regenerating.

Every generated image is re-scored — kept and rejected alike, so a looser preset brings rejects back —
in the build's plan order, shard by shard, through the same code a build uses
(:func:`aigi_scd.filters.shard.filter_shard`); imported sources keep the preset they were imported with.
The new shards, rejects, stats, build.json and card are written into ``OUT/.filter-staging/`` and swapped
in only when all are complete (:mod:`aigi_scd.dataset.swap`): until then OUT is untouched, and a killed run
resumes its staging when rerun with the same preset.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from aigi_scd.build.manifest import preset_record
from aigi_scd.build.plan import kept_candidates, shard_plan
from aigi_scd.dataset.card import write_dataset_card
from aigi_scd.dataset.files import read_json, write_json_atomic
from aigi_scd.dataset.integrity import resumable_shards, shard_files_problem
from aigi_scd.dataset.png import decode_png
from aigi_scd.dataset.sample import sha256
from aigi_scd.dataset.shards import (
    MANIFEST,
    discard_shard,
    finished_shards,
    iter_samples,
    model_data_dir,
    model_reject_dir,
    read_manifest,
    reject_name,
    repair_hint,
    shard_name,
    stats_name,
)
from aigi_scd.dataset.swap import finish_pending_swap, staging_dir, write_journal
from aigi_scd.errors import AigiScdError, DamagedDataError, OutputDirError
from aigi_scd.filters.base import Candidate
from aigi_scd.filters.chain import FilterChain
from aigi_scd.filters.shard import Pending, filter_shard
from aigi_scd.prompts.spec import PromptSpec
from aigi_scd.weights.device import pick_device

PLAN = "plan.json"


class BuildDataError(DamagedDataError):
    """A build folder's shards do not hold what its build.json and stats files say."""


@dataclass
class ModelChange:
    name: str
    generated: int = 0
    kept_before: int = 0
    kept: int = 0
    rejected: int = 0
    restored: int = 0  # kept now, rejected before
    dropped: int = 0  # rejected now, kept before


@dataclass
class RefilterReport:
    out: Path
    preset: str
    models: list[ModelChange] = field(default_factory=list)
    seconds: float = 0.0
    resumed_shards: int = 0

    @property
    def kept(self) -> int:
        return sum(m.kept for m in self.models)


def _content_fingerprint(out: Path, manifest: dict[str, Any], plans: dict[str, list[list[str]]]) -> str:
    """Changes whenever the build's content does (its manifest or any shard's stats)."""
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode())
    for model, shards in plans.items():
        for index in range(len(shards)):
            digest.update((model_data_dir(out, model) / stats_name(index)).read_bytes())
    return digest.hexdigest()


def _read_shard(out: Path, model: str, index: int, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Key → stored sample (kept and rejected) of one shard; every planned key must be there."""
    found: dict[str, dict[str, Any]] = {}
    for path in (model_data_dir(out, model) / shard_name(index), model_reject_dir(out, model) / reject_name(index)):
        if path.is_file():
            for sample in iter_samples(path):
                png = sample.get("png")
                if png is not None and json.loads(sample["json"]).get("sha256") != sha256(png):
                    raise BuildDataError(  # a damaged image must not be re-judged (and rejected) in silence
                        f"{path}: {sample['__key__']}: the png's sha256 differs from the one its json records",
                        repair_hint(path),
                    )
                found[sample["__key__"]] = sample
    missing = [k for k in keys if k not in found]
    if missing:
        raise BuildDataError(
            f"{out}: shard {index} of {model} lacks {len(missing)} of its {len(keys)} samples (first: {missing[0]}) "
            "in both its tar and its rejects tar",
            repair_hint(model_data_dir(out, model)),
        )
    return found


def _candidate(sample: dict[str, Any]) -> Pending:
    record = json.loads(sample["json"])
    png = sample.get("png")
    pixels, problem = None, None
    if png is None:  # the pipeline produced no usable pixels: keep the original reason
        first = (record.get("filters") or [{}])[0]
        problem = first.get("reason") or record.get("reason") or "no image was stored"
    else:
        try:
            pixels = decode_png(png)
        except Exception as exc:  # a damaged stored PNG is the decodable filter's verdict, not a crash
            png, problem = None, f"stored PNG does not decode: {exc}"
    candidate = Candidate(sample["__key__"], png, pixels, PromptSpec.from_json(record["prompt"]), problem)
    return candidate, lambda c, record=record: dict(record)


def _batches(samples: dict[str, dict[str, Any]], keys: list[str], batch_size: int) -> Iterator[list[Pending]]:
    for start in range(0, len(keys), batch_size):
        yield [_candidate(samples[key]) for key in keys[start : start + batch_size]]


def _operations(out: Path, staging: Path, plans: dict[str, list[list[str]]]) -> list[list[str]]:
    """The swap: new tars in (old ones with no successor deleted), then stats, then build.json and card."""
    tars, stats = [], []
    for model, shards in plans.items():
        for index in range(len(shards)):
            for folder, name in ((model_data_dir, shard_name(index)), (model_reject_dir, reject_name(index))):
                rel = str((folder(out, model) / name).relative_to(out))
                tars.append(["move" if (staging / rel).is_file() else "delete", rel])
            stats.append(["move", str((model_data_dir(out, model) / stats_name(index)).relative_to(out))])
    return [*tars, *stats, ["move", MANIFEST], ["move", "README.md"]]


def refilter(
    out: Path,
    chain: FilterChain,
    *,
    batch_size: int = 8,
    device: str | None = None,
    progress: bool = True,
    command: str | None = None,
) -> RefilterReport:
    """Re-judge every generated image of the finished build in `out` with `chain`; swap the result in."""
    out = Path(out)
    if batch_size < 1:
        raise AigiScdError(f"--batch-size must be at least 1, got {batch_size}")
    if not (out / MANIFEST).is_file():
        raise OutputDirError(f"{out} holds no aigi-scd build ({MANIFEST} is missing); give the --out of a build")
    finish_pending_swap(out)
    began = time.perf_counter()
    manifest = read_manifest(out)
    if not manifest.get("models"):
        raise OutputDirError(
            f"{out} holds only imported sources, which were judged when imported; to judge one with another "
            "preset, import it again with --filters PRESET --overwrite"
        )
    plans = shard_plan(manifest)
    done = {model: finished_shards(out, model) for model in plans}
    for model, shards in plans.items():
        unfinished = [i for i in range(len(shards)) if i not in done[model]]
        if unfinished:
            raise OutputDirError(
                f"{out}: the build is unfinished ({model}: {len(unfinished)} of {len(shards)} shards to go); finish "
                f"it first by rerunning its command: {manifest.get('command') or 'aigi-scd build ...'}"
            )
        for index, stats in sorted(done[model].items()):  # headers only: cheap, and no tarfile traceback later
            problem = shard_files_problem(out, model, index, stats)
            if problem:
                raise BuildDataError(problem, repair_hint(model_data_dir(out, model)))
    chain.prepare(pick_device(device))

    staging = staging_dir(out)
    plan = {"source": _content_fingerprint(out, manifest, plans), "filters": chain.identity()}
    if staging.exists():
        try:
            same = read_json(staging / PLAN) == plan
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(staging)
    write_json_atomic(staging / PLAN, plan)

    report = RefilterReport(out, chain.name)
    chain.reset()
    total = sum(len(keys) for shards in plans.values() for keys in shards)
    with tqdm(total=total, unit="img", desc=f"filter ({chain.name})", disable=not progress, dynamic_ncols=True) as bar:
        for model, shards in plans.items():
            change = ModelChange(model)
            report.models.append(change)
            staged = resumable_shards(staging, model)
            for index, keys in enumerate(shards):
                old = done[model][index]
                change.generated += len(keys)
                change.kept_before += old["kept"]
                if index in staged:
                    stats = staged[index]
                    chain.restore(stats.get("filter_state"), lambda m=model, i=index: kept_candidates(staging, m, i))
                    report.resumed_shards += 1
                    bar.update(len(keys))
                else:
                    discard_shard(staging, model, index)
                    samples = _read_shard(out, model, index, keys)
                    outcome = filter_shard(
                        _batches(samples, keys, batch_size),
                        chain,
                        model_data_dir(staging, model) / shard_name(index),
                        model_reject_dir(staging, model) / reject_name(index),
                        bar.update,
                    )
                    stats = {**old, **outcome.stats(chain), "refiltered": True}
                    write_json_atomic(model_data_dir(staging, model) / stats_name(index), stats)
                before, after = set(old.get("keys") or ()), set(stats["keys"])
                change.kept += stats["kept"]
                change.rejected += stats["rejected"]
                change.restored += len(after - before)
                change.dropped += len(before - after)

    new_manifest = {
        **manifest,
        "config": {**manifest["config"], "filters": chain.identity()},
        "preset": preset_record(chain),
        "filter_commands": [
            *(manifest.get("filter_commands") or []),
            command or f"aigi-scd filter --preset {chain.name}",
        ],
    }
    write_json_atomic(staging / MANIFEST, new_manifest)
    write_dataset_card(staging)
    write_journal(out, _operations(out, staging, plans))
    finish_pending_swap(out)
    write_dataset_card(out)  # again, over OUT itself: the staged card could not see imported sources or compressed sets
    report.seconds = time.perf_counter() - began
    return report
