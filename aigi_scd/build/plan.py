"""The plan of a build: which samples go into which shard, fixed up front so a resumed or re-filtered
build lays them out exactly as the first run did."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aigi_scd.dataset.png import decode_png
from aigi_scd.dataset.shards import image_field, iter_samples, model_data_dir, shard_name
from aigi_scd.filters.base import Candidate
from aigi_scd.pipelines.runner import WorkItem, plan_items
from aigi_scd.prompts.spec import PromptSpec


def plan_shards(items: Sequence[WorkItem], shard_size: int, images_per_prompt: int) -> list[Sequence[WorkItem]]:
    """Consecutive runs of `items` of about `shard_size`, never splitting a prompt's images (best-of-N
    picks among them, and must see them all in one shard for a resumed build to pick the same)."""
    size = max(images_per_prompt, shard_size - shard_size % images_per_prompt)
    return [items[i : i + size] for i in range(0, len(items), size)]


def shard_plan(manifest: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Model → the sample keys of each shard, in plan order, exactly as the build laid them out."""
    config = manifest["config"]
    if config is None:  # a folder that holds only imported sources: nothing was generated
        return {}
    prompts = [PromptSpec.from_json(p) for p in manifest["prompts"]]
    plans = {}
    for model in manifest["models"]:
        items = plan_items(model, prompts, config["images_per_prompt"], config["seed"])
        shards = plan_shards(items, config["shard_size"], config["images_per_prompt"])
        plans[model] = [[item.key for item in shard] for shard in shards]
    return plans


def kept_candidates(out: Path, model: str, index: int) -> list[Candidate]:
    """The kept samples of a finished shard as candidates (decoded pixels), in their stored order."""
    path = model_data_dir(out, model) / shard_name(index)
    if not path.is_file():
        return []
    candidates = []
    for sample in iter_samples(path):
        field = image_field(sample) or "png"  # an imported original may be jpg or webp
        data = sample[field]
        candidates.append(Candidate(sample["__key__"], data, decode_png(data), image_ext=field))
    return candidates
