"""The dataset card (``OUT/README.md``): YAML ``configs`` that make ``datasets.load_dataset(OUT)`` work,
declared features, and a human summary built from the manifest and the shard stats files only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aigi_scd.dataset.compressed_card import compressed_configs, compressed_section, reproduce_section
from aigi_scd.dataset.files import write_bytes_atomic
from aigi_scd.dataset.shards import finished_shards, model_data_dir, read_manifest


def _features_yaml() -> list[Any]:
    from datasets import DatasetInfo

    from aigi_scd.dataset.sample import sample_features

    return DatasetInfo(features=sample_features())._to_yaml_dict()["features"]


def _split(out: Path, models: list[str]) -> dict[str, Any]:
    """The size of the shards (``download_size``): `datasets` keys its cache on this metadata, so a dataset
    changed in place (``aigi-scd filter``) is never served from a stale cache."""
    return {"download_size": sum(p.stat().st_size for m in models for p in model_data_dir(out, m).glob("train-*.tar"))}


def card_metadata(out: Path, models: list[str]) -> dict[str, Any]:
    """The YAML front matter: one config for all models (default) and one per model that has shards.

    The default config is there even when no image was kept (a preset that rejects everything): datasets then
    says that no data files were found, instead of reading build.json and the stats files as a json dataset.
    """
    with_data = [m for m in models if any(model_data_dir(out, m).glob("train-*.tar"))]
    configs, infos = [], []
    features = _features_yaml()
    if models:
        configs.append(
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": "data/*/train-*.tar"}],
                "default": True,
            }
        )
        infos.append({"config_name": "default", "features": features, **_split(out, with_data)})
    for model in with_data:
        configs.append({"config_name": model, "data_files": [{"split": "train", "path": f"data/{model}/train-*.tar"}]})
        infos.append({"config_name": model, "features": features, **_split(out, [model])})
    more_configs, more_infos = compressed_configs(out)  # `aigi-scd compress` sets: <codec>-<target>
    configs += more_configs
    infos += more_infos
    return {
        "pretty_name": "AIGI-SCD",
        "license": "other",
        "task_categories": ["text-to-image"],
        "tags": ["ai-generated-images", "image-compression", "semantic-compression", "aigi-scd"],
        "configs": configs,
        "dataset_info": infos,
    }


def _model_rows(out: Path, manifest: dict[str, Any]) -> list[str]:
    rows = []
    for name in manifest["models"]:
        card = manifest["cards"][name]
        shards = finished_shards(out, name)
        kept = sum(s["kept"] for s in shards.values())
        rejected = sum(s["rejected"] for s in shards.values())
        planned = sum(s["planned"] for s in shards.values())
        seconds = sum(s.get("generation_seconds") or 0 for s in shards.values())
        rate = f"{planned / seconds:.2f}" if seconds else "–"
        passed = f"{100 * kept / planned:.1f}%" if planned else "–"
        call = card["call"]
        rows.append(
            f"| {name} | `{card['repo']}` | {card.get('pipeline') or 'auto'} | {call['steps']} | {call['guidance']} "
            f"| {call['width']}×{call['height']} | {kept} | {rejected} | {passed} | {rate} | {card['license']} |"
        )
    return rows


def _filter_rows(out: Path, manifest: dict[str, Any]) -> list[str]:
    """Per model and filter (in chain order): images it rejected, images it judged, and its pass rate."""
    rows = []
    for name in manifest["models"]:
        order: list[str] = []
        checked: dict[str, int] = {}
        passed: dict[str, int] = {}
        rejected: dict[str, int] = {}
        for stats in finished_shards(out, name).values():
            for filt in stats.get("filters") or []:
                if filt not in order:
                    order.append(filt)
            for filt, n in (stats.get("rejects_by_filter") or {}).items():
                rejected[filt] = rejected.get(filt, 0) + n
            for filt, counts in (stats.get("filter_counts") or {}).items():
                checked[filt] = checked.get(filt, 0) + counts["checked"]
                passed[filt] = passed.get(filt, 0) + counts["passed"]
        order += sorted(f for f in rejected if f not in order)
        for filt in order:
            n = checked.get(filt)
            rate = f"{100 * passed.get(filt, 0) / n:.1f}%" if n else "–"
            rows.append(f"| {name} | {filt} | {rejected.get(filt, 0)} | {n if n is not None else '–'} | {rate} |")
    return rows


def _preset_lines(manifest: dict[str, Any]) -> list[str]:
    preset = manifest.get("preset") or {}
    steps = (manifest["config"].get("filters") or {}).get("steps") or []
    lines = [f"Filter preset `{preset.get('name', '?')}`: {preset.get('description') or ''}".rstrip(), ""]
    for step in steps:
        settings = ", ".join(f"{k}={v}" for k, v in step.items() if k not in ("type", "name") and v is not None)
        label = step["name"] if step["name"] == step["type"] else f"{step['name']} ({step['type']})"
        lines.append(f"- `{label}`" + (f": {settings}" if settings else ""))
    return lines


def render_card(out: Path) -> str:
    out = Path(out)
    manifest = read_manifest(out)
    models = manifest["models"]
    meta = card_metadata(out, models)
    config = manifest["config"]
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "# AIGI-SCD build",
        "",
        "AI-generated images for benchmarking ultra-low-bitrate semantic image compression, built with "
        f"[aigi-scd](https://github.com/) {manifest['aigi_scd']} from prompt suite `{config['suite']}` "
        f"({len(config['prompt_ids'])} prompts, {config['images_per_prompt']} image(s) per prompt, seed "
        f"{config['seed']}).",
        "",
        "## Load",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder", split="train")              # every model',
        f'ds = load_dataset("path/to/this/folder", "{models[0]}", split="train")  # one model',
        "```",
        "",
        "Each row has `png` (the lossless image) and `json`: the prompt (with category, style and salient "
        "objects), the model card snapshot (repo, revision, pipeline and scheduler class and config), seed, "
        "steps, guidance, size, dtype, device, library versions, timings, every filter score and verdict, and "
        "the sha256 of the PNG bytes.",
        "",
        "## Models",
        "",
        "| model | repo | pipeline | steps | guidance | size | kept | rejected | pass rate | img/s | licence |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *_model_rows(out, manifest),
        "",
        "## Filters",
        "",
        *_preset_lines(manifest),
        "",
        "Filters run in this order; an image stops at the first that rejects it, so each pass rate is over the "
        "images that reached that filter. Every score and verdict is in each sample's `json.filters`; rejected "
        "samples are kept with their reasons under `rejects/<model>/` (not part of the dataset).",
        "",
        "| model | filter | rejected | checked | pass rate |",
        "|---|---|---|---|---|",
        *(_filter_rows(out, manifest) or ["| – | – | 0 | – | – |"]),
        "",
        *compressed_section(out),
        *reproduce_section(
            [
                manifest.get("command") or "aigi-scd build (options in build.json)",
                *(manifest.get("filter_commands") or []),
            ],
            "Licences: each image inherits the licence of the model that generated it (column above).",
        ),
    ]
    return "\n".join(lines)


def write_dataset_card(out: Path) -> Path:
    path = Path(out) / "README.md"
    write_bytes_atomic(path, render_card(out).encode("utf-8"))
    return path
