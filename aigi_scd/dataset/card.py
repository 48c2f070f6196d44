"""The build's dataset card (``OUT/README.md``): YAML ``configs`` that make ``datasets.load_dataset(OUT)`` work,
declared features, the licences of the models, and what the build holds (counts, settings, filters, pictures,
the benchmark once ``compress`` has run), all read from the folder itself. :func:`write_dataset_card` also writes
the datasheet (``OUT/DATASHEET.md``) and the pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aigi_scd.dataset.card_tables import (
    breakdown_table,
    counts_table,
    filter_table,
    preset_lines,
    settings_table,
    versions_table,
)
from aigi_scd.dataset.compressed_card import (
    benchmark_pictures_section,
    compressed_configs,
    compressed_section,
    made_with,
    project_name,
    reproduce_section,
)
from aigi_scd.dataset.contents import BuildContents, read_build, shortfalls
from aigi_scd.dataset.datasheet import render_datasheet
from aigi_scd.dataset.files import write_bytes_atomic
from aigi_scd.dataset.imports_card import import_commands, imports_section, source_image_fields
from aigi_scd.dataset.pictures import picture_lines, write_pictures
from aigi_scd.dataset.shards import IMAGE_FIELDS, imported_sources, model_data_dir

DATASHEET = "DATASHEET.md"


def _features_yaml(image_fields: tuple[str, ...] = ("png",)) -> list[Any]:
    from datasets import DatasetInfo

    from aigi_scd.dataset.sample import sample_features

    return DatasetInfo(features=sample_features(image_fields))._to_yaml_dict()["features"]


def _split(out: Path, models: list[str]) -> dict[str, Any]:
    """The size of the shards (``download_size``): `datasets` keys its cache on this metadata, so a dataset
    changed in place (``aigi-scd filter``) is never served from a stale cache."""
    return {"download_size": sum(p.stat().st_size for m in models for p in model_data_dir(out, m).glob("train-*.tar"))}


def licence_field(licences: list[str] | None) -> dict[str, Any]:
    """The card's ``license``: the models' own licences (one, or a list); left out when a source's is unknown."""
    if not licences:
        return {}
    return {"license": licences[0] if len(licences) == 1 else licences}


def card_metadata(out: Path, sources: dict[str, tuple[str, ...]], licences: list[str] | None = None) -> dict[str, Any]:
    """The YAML front matter: one config for all sources (default) and one per source that has shards, each
    declaring the image members its samples hold (`sources`: name → members, e.g. ``("png",)``), and the
    sources' licences (left out when one is not known).

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
        **licence_field(licences),
        "task_categories": ["text-to-image"],
        "tags": ["ai-generated-images", "image-compression", "semantic-compression", "aigi-scd"],
        "configs": configs,
        "dataset_info": infos,
    }


def summary_sentence(contents: BuildContents) -> str:
    """One sentence: what was kept, from what, by which sources, with which tool."""
    manifest, config = contents.manifest, contents.manifest.get("config") or {}
    generated = sum(s.planned for s in contents.sources)
    names = ", ".join(f"`{s.name}`" for s in contents.sources)
    prompts = len(config.get("prompt_ids") or [])
    per_prompt = config.get("images_per_prompt")
    kinds = {s.imported for s in contents.sources}
    made = "generated or imported" if kinds == {True, False} else ("imported" if kinds == {True} else "generated")
    parts = [f"{contents.kept} images kept of {generated} {made} by {len(contents.sources)} source(s) ({names})"]
    if config.get("suite") is not None:
        parts.append(
            f"from {prompts} prompts of prompt suite `{config['suite']}`, {per_prompt} image(s) per prompt, "
            f"build seed {config.get('seed')}"
        )
    imported = imported_sources(manifest)
    if imported:
        parts.append(f"imported: {', '.join(f'`{s}`' for s in imported)} (see *Imported sources*)")
    return "; ".join(parts) + f"; made with {project_name()} {manifest.get('aigi_scd', '')}".rstrip() + "."


def _licence_line(contents: BuildContents) -> str:
    imported = imported_sources(contents.manifest)
    parts = []
    if len(imported) < len(contents.sources):
        parts.append(
            "each generated image carries the licence of the model that generated it (`licence` column above, from "
            "the model's card)"
        )
    if imported:
        parts.append("imported images keep the terms of their source, which aigi-scd does not record")
    return "Licences: " + "; ".join(parts) + "."


def incomplete_lines(out: Path, manifest: dict[str, Any]) -> list[str]:
    """A paragraph naming what the folder lacks of what build.json says was made (nothing when it is whole)."""
    missing = shortfalls(out, manifest)
    if not missing:
        return []
    return [
        "**Incomplete:** " + "; ".join(missing) + ". The counts below are of what is on disk; `aigi-scd verify` on "
        "this folder lists what to regenerate (with `--repair`, after rebuilding what can be rebuilt).",
        "",
    ]


def render_card(out: Path, contents: BuildContents | None = None, pictures: dict | None = None) -> str:
    out = Path(out)
    contents = contents or read_build(out)
    pictures = pictures or {}
    names = [s.name for s in contents.sources]
    meta = card_metadata(out, source_image_fields(out, contents.manifest), contents.licences())
    imported = bool(imported_sources(contents.manifest))
    config = contents.manifest.get("config")
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "# AIGI-SCD build",
        "",
        "AI-generated images for benchmarking ultra-low-bitrate semantic image compression: "
        + summary_sentence(contents),
        "",
        *incomplete_lines(out, contents.manifest),
        f"How it was made, what it holds and what it is for: [{DATASHEET}]({DATASHEET}).",
        "",
        "## Load",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder", split="train")  # every source',
        *([f'ds = load_dataset("path/to/this/folder", "{names[0]}", split="train")  # one source'] if names else []),
        "```",
        "",
        "Each generated row has `png` (the lossless image) and `json`: the prompt (with category, style and salient "
        "objects), the model card snapshot (repo, revision, pipeline and scheduler class and config), seed, "
        "steps, guidance, size, dtype, device, library versions, timings, every filter score and verdict, and "
        "the sha256 of the PNG bytes.",
        "",
        *(
            [
                "An imported row keeps its original file under its format's name (`png`, `jpg` or `webp`; the other "
                "image columns are None) and has the same `json`, with what its source knew: the prompt, seed, "
                "steps, guidance and requested size where given, `imported` (provenance) in place of a model card, "
                "every filter score and verdict, and the sha256 of the stored file.",
                "",
            ]
            if imported
            else []
        ),
        "## Sources",
        "",
        *settings_table(contents),
        "",
        *counts_table(contents),
        "",
        *picture_lines(contents, pictures, "samples"),
        *imports_section(out, contents.manifest),
        "## Composition (kept images)",
        "",
        *breakdown_table(contents, "category", lambda s: s.category),
        "",
        *breakdown_table(contents, "style", lambda s: s.style),
        "",
        *breakdown_table(contents, "size", lambda s: s.size),
        "",
        "## Filters",
        "",
        *preset_lines(contents),
        "",
        "Filters run in this order; an image stops at the first that rejects it, so each pass rate is over the "
        "images that reached that filter. Scores (min, median, max) are over every image a filter scored, kept or "
        "rejected. Every score and verdict is in each sample's `json.filters`; rejected samples are kept with their "
        "reasons under `rejects/<source>/` (not part of the dataset).",
        "",
        *filter_table(contents),
        "",
        *picture_lines(contents, pictures, "scores"),
        "## Library versions",
        "",
        *versions_table(contents),
        "",
        *compressed_section(out),
        *benchmark_pictures_section(out),
        *reproduce_section(
            [
                *([contents.manifest.get("command") or "aigi-scd build (options in build.json)"] if config else []),
                *(contents.manifest.get("filter_commands") or []),
                *import_commands(contents.manifest),
                *made_with(out),
            ],
            _licence_line(contents),
        ),
    ]
    return "\n".join(lines)


def write_dataset_card(out: Path) -> Path:
    """Write ``README.md``, ``DATASHEET.md`` and the pictures of the build in `out`; returns the card's path."""
    out = Path(out)
    contents = read_build(out)
    pictures = write_pictures(contents)
    write_bytes_atomic(out / DATASHEET, render_datasheet(contents, pictures).encode("utf-8"))
    path = out / "README.md"
    write_bytes_atomic(path, render_card(out, contents, pictures).encode("utf-8"))
    return path
