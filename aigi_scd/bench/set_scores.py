"""Set-level scores (FID/KID) per source × codec × target, cached by a fingerprint of the bitstreams."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aigi_scd.bench.results import benchmark_dir, group_id, groups
from aigi_scd.dataset.files import read_json, write_json_atomic
from aigi_scd.dataset.shards import iter_samples


def results_fingerprint(rows: pd.DataFrame) -> str:
    """Which files a group's set-level scores were computed from."""
    ok = rows[rows["status"] == "ok"].sort_values(["source", "key"])
    text = "\n".join(f"{k}:{s}" for k, s in zip(ok["key"], ok["bitstream_sha256"], strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def update_set_scores(out: Path, frame: pd.DataFrame, scorer, sources: dict[str, Any], progress: bool = True) -> dict:
    """FID/KID per source × codec × target (and all-aigi), cached in ``benchmark/set_scores.json`` by a fingerprint
    of the bitstreams, so reruns only compute what changed. The originals' features are extracted once per image
    and reused across codecs and targets. Needs the sources of this run (other sets keep their cached values)."""
    path = benchmark_dir(out) / "set_scores.json"
    cache: dict[str, dict] = read_json(path) if path.is_file() else {}
    names = [m.name for m in scorer.set_metrics] if scorer is not None else []
    from tqdm.auto import tqdm

    todo, current = [], {}
    for (_, source, codec, target), sub in groups(frame):
        gid = group_id(source, codec, target)
        fingerprint = results_fingerprint(sub)
        current[gid] = fingerprint
        ok = sub[sub["status"] == "ok"]
        entry = cache.get(gid, {})
        fresh = entry.get("fingerprint") == fingerprint and set(names) <= set(entry.get("scores", {}))
        if names and not fresh and set(ok["source"]) <= set(sources):
            todo.append((gid, fingerprint, ok))
    ref_features: dict[tuple[str, str], np.ndarray] = {}
    for gid, fingerprint, ok in tqdm(todo, desc="fid/kid", disable=not progress or not todo, leave=False):
        missing = ok[[(s, k) not in ref_features for s, k in zip(ok["source"], ok["key"], strict=True)]]
        for src, keys in missing.groupby("source")["key"]:
            ref_features.update(_features(scorer, _originals(sources[src], set(keys), src)))
        scores = {name: None for name in names}
        if len(ok) >= 2:
            rec_by_key = _features(scorer, _reconstructions(Path(out), ok))
            order = [
                (src, key)
                for _, part in ok.groupby(["config", "unit"], sort=True)
                for src, key in zip(part["source"], part["key"], strict=True)
            ]
            rec_features = np.stack([rec_by_key[pair] for pair in order])
            refs = np.stack([ref_features[pair] for pair in order])
            scores = scorer.set_distances(rec_features, refs)
        cache[gid] = {"fingerprint": fingerprint, "n": len(ok), "scores": scores}
    if todo:
        write_json_atomic(path, cache)
    return {gid: entry for gid, entry in cache.items() if current.get(gid) == entry.get("fingerprint")}


def _features(scorer, named: Iterator[tuple[tuple[str, str], Any]]) -> dict[tuple[str, str], np.ndarray]:
    """Features of (name, image) pairs streamed one at a time: name → feature vector."""
    names: list[tuple[str, str]] = []

    def images():
        for name, image in named:
            names.append(name)
            yield image

    features = scorer.set_features(images())
    return dict(zip(names, features, strict=True))


def _originals(source, keys: set[str], name: str) -> Iterator[tuple[tuple[str, str], Any]]:
    from aigi_scd.bench.sources import load_rgb

    for item in source.items_by_key(keys):
        yield (name, item.key), load_rgb(item.data)


def _reconstructions(out: Path, ok: pd.DataFrame) -> Iterator[tuple[tuple[str, str], bytes]]:
    """The stored reconstructions (PNG bytes, as written) of `ok`'s rows, unit by unit."""
    for (config, unit), part in ok.groupby(["config", "unit"], sort=True):
        wanted = dict(zip(part["key"], part["source"], strict=True))
        for sample in iter_samples(out / "compressed" / config / f"{unit}.tar"):
            if sample["__key__"] in wanted:
                yield (wanted[sample["__key__"]], sample["__key__"]), sample["png"]
