"""The dataset card (``OUT/README.md``): YAML ``configs`` that make ``datasets.load_dataset(OUT)`` work,
declared features, and a human summary built from the manifest and the shard stats files only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aigi_scd.dataset.compressed_card import compressed_configs, compressed_section, reproduce_section
from aigi_scd.dataset.files import write_bytes_atomic
from aigi_scd.dataset.imports_card import import_commands, imports_section, source_image_fields
from aigi_scd.dataset.shards import IMAGE_FIELDS, finished_shards, model_data_dir, read_manifest, source_names


def _features_yaml(image_fields: tuple[str, ...] = ("png",)) -> list[Any]:
    from datasets import DatasetInfo

    from aigi_scd.dataset.sample import sample_features

    return DatasetInfo(features=sample_features(image_fields))._to_yaml_dict()["features"]


def _split(out: Path, models: list[str]) -> dict[str, Any]:
    """The size of the shards (``download_size``): `datasets` keys its cache on this metadata, so a dataset
    changed in place (``aigi-scd filter``) is never served from a stale cache."""
    return {"download_size": sum(p.stat().st_size for m in models for p in model_data_dir(out, m).glob("train-*.tar"))}


def card_metadata(out: Path, sources: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The YAML front matter: one config for all sources (default) and one per source that has shards, each
    declaring the image members its samples hold (`sources`: name → members, e.g. ``("png",)``).

    The default config is there even when no image was kept (a preset that rejects everything): datasets then
    says that no data files were found, instead of reading build.json and the stats files as a json dataset.
    """
    with_data = [m for m in sources if any(model_data_dir(out, m).glob("train-*.tar"))]
    configs, infos = [], []
    every = {name for m in with_data for name in sources[m]}
    features = _features_yaml(tuple(name for name in IMAGE_FIELDS if name in every) or ("png",))
    if sources:
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
        infos.append({"config_name": model, "features": _features_yaml(sources[model]), **_split(out, [model])})
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
    """Per source and filter (in chain order): images it rejected, images it judged, and its pass rate."""
    rows = []
    for name in source_names(manifest):
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
    if not manifest.get("config"):
        return ["Each imported source's filter preset is in its row above."]
    preset = manifest.get("preset") or {}
    steps = (manifest["config"].get("filters") or {}).get("steps") or []
    lines = [f"Filter preset `{preset.get('name', '?')}`: {preset.get('description') or ''}".rstrip(), ""]
    for step in steps:
        settings = ", ".join(f"{k}={v}" for k, v in step.items() if k not in ("type", "name") and v is not None)
        label = step["name"] if step["name"] == step["type"] else f"{step['name']} ({step['type']})"
        lines.append(f"- `{label}`" + (f": {settings}" if settings else ""))
    return lines


def _intro(manifest: dict[str, Any]) -> str:
    config = manifest.get("config")
    made = f"built with aigi-scd {manifest['aigi_scd']}"
    if config:
        made += (
            f" from prompt suite `{config['suite']}` ({len(config['prompt_ids'])} prompts, "
            f"{config['images_per_prompt']} image(s) per prompt, seed {config['seed']})"
        )
    imports = manifest.get("imports") or []
    if imports:
        made += ("; with " if config else ", of ") + f"{len(imports)} imported source(s) (see below)"
    return f"AI-generated images for benchmarking ultra-low-bitrate semantic image compression, {made}."


def _licence_line(generated: bool, imported: bool) -> str:
    parts = (
        ["each generated image inherits the licence of the model that generated it (column above)"] if generated else []
    )
    if imported:
        parts.append("imported images keep the terms of their source, which aigi-scd does not record")
    return "Licences: " + "; ".join(parts) + "."


def render_card(out: Path) -> str:
    out = Path(out)
    manifest = read_manifest(out)
    models = manifest["models"]
    sources = source_image_fields(out, manifest)
    meta = card_metadata(out, sources)
    names = list(sources) or ["<source>"]
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "# AIGI-SCD build",
        "",
        _intro(manifest),
        "",
        "## Load",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder", split="train")              # every source',
        f'ds = load_dataset("path/to/this/folder", "{names[0]}", split="train")  # one source',
        "```",
        "",
    ]
    if models:
        lines += [
            "Each generated row has `png` (the lossless image) and `json`: the prompt (with category, style and "
            "salient objects), the model card snapshot (repo, revision, pipeline and scheduler class and config), "
            "seed, steps, guidance, size, dtype, device, library versions, timings, every filter score and verdict, "
            "and the sha256 of the PNG bytes.",
            "",
        ]
    if manifest.get("imports"):
        lines += [
            "An imported row keeps its original file under its format's name (`png`, `jpg` or `webp`; the other "
            "image columns are None) and has the same `json`, with what its source knew: the prompt, seed, steps, "
            "guidance and requested size where given, `imported` (provenance) in place of a model card, every "
            "filter score and verdict, and the sha256 of the stored file.",
            "",
        ]
    if models:
        lines += [
            "## Models",
            "",
            "| model | repo | pipeline | steps | guidance | size | kept | rejected | pass rate | img/s | licence |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *_model_rows(out, manifest),
            "",
        ]
    lines += [
        *imports_section(out, manifest),
        "## Filters",
        "",
        *_preset_lines(manifest),
        "",
        "Filters run in this order; an image stops at the first that rejects it, so each pass rate is over the "
        "images that reached that filter. Every score and verdict is in each sample's `json.filters`; rejected "
        "samples are kept with their reasons under `rejects/<source>/` (not part of the dataset).",
        "",
        "| source | filter | rejected | checked | pass rate |",
        "|---|---|---|---|---|",
        *(_filter_rows(out, manifest) or ["| – | – | 0 | – | – |"]),
        "",
        *compressed_section(out),
        *reproduce_section(
            [
                *([manifest.get("command") or "aigi-scd build (options in build.json)"] if models else []),
                *(manifest.get("filter_commands") or []),
                *import_commands(manifest),
            ],
            _licence_line(bool(models), bool(manifest.get("imports"))),
        ),
    ]
    return "\n".join(lines)


def write_dataset_card(out: Path) -> Path:
    path = Path(out) / "README.md"
    write_bytes_atomic(path, render_card(out).encode("utf-8"))
    return path
