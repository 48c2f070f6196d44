"""The datasheet of one build (``OUT/DATASHEET.md``), in the seven sections of "Datasheets for Datasets" (Gebru et
al.): motivation, composition, collection process, preprocessing, uses, distribution, maintenance. Every number
comes from the build folder (:mod:`.contents`); where the folder cannot know something, the sheet says so."""

from __future__ import annotations

from pathlib import Path

from aigi_scd.dataset.card_tables import (
    breakdown_table,
    counts_table,
    filter_table,
    preset_lines,
    settings_table,
    versions_table,
)
from aigi_scd.dataset.compressed_card import compressed_config_names, made_with
from aigi_scd.dataset.contents import BuildContents, SourceContents
from aigi_scd.dataset.imports_card import import_commands, lossy_sources
from aigi_scd.dataset.pictures import picture_lines
from aigi_scd.dataset.shards import imported_sources

SECTIONS = (
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing, cleaning and labelling",
    "Uses",
    "Distribution",
    "Maintenance",
)


def _is_tiny(source: SourceContents) -> bool:
    return str((source.card or {}).get("repo") or "").startswith("tiny:")


def _motivation(contents: BuildContents) -> list[str]:
    return [
        "**Purpose.** AIGI-SCD measures how well image codecs keep the meaning of AI-generated images at ultra-low "
        "bitrates (hundredths of a bit per pixel), where pixel fidelity is no longer possible and semantic "
        "codecs such as MISC reconstruct an image from a description, region maps and a tiny pixel layer. "
        "AI-generated images (AIGIs) are a large and growing share of the images people store and send, and each "
        "comes with the prompt it was made from: ground truth for what a semantic codec should keep.",
        "",
        "**Who made this copy.** Whoever ran the command in *Maintenance* with the aigi-scd toolkit "
        f"(version {contents.manifest.get('aigi_scd', 'not recorded')}); `build.json` records it. The folder "
        "does not record a person, an organisation or a funder.",
    ]


def _made(contents: BuildContents) -> str:
    """How the images came here: generated, imported, or both."""
    kinds = {s.imported for s in contents.sources}
    return "generated or imported" if kinds == {True, False} else ("imported" if kinds == {True} else "generated")


def _instances(contents: BuildContents) -> str:
    generated = [s for s in contents.sources if not s.imported]
    imported = [s for s in contents.sources if s.imported]
    parts = []
    if generated:
        parts.append(
            "A generated instance is one AI-generated image (`png`, lossless) and a `json` record: its prompt "
            "(text, category, style and salient objects, each a name and a detail), the model card snapshot, seed, "
            "sampling settings, library versions, timings, every filter score and the verdict, and the sha256 of the "
            "PNG. Generated instances are keyed `<source>-<prompt id>-<seed>`."
        )
    if imported:
        parts.append(
            "An imported instance is one AI-generated image made elsewhere, stored as its original file (`png`, "
            "`jpg` or `webp`, byte for byte, or the lossless PNG of what was judged where readers would disagree) "
            "and a `json` record of what its source knew (prompt, generator, seed, steps, guidance, size where "
            "given), every filter score and the verdict, and the sha256 of the stored image. Imported instances are "
            "keyed `<source>-<prompt id>-<n>` (n: its number among the source's images of that prompt)."
        )
    return "**Instances.** " + " ".join(parts)


def _composition(contents: BuildContents, pictures: dict[str, dict[str, Path]]) -> list[str]:
    made = _made(contents)
    lines = [
        _instances(contents),
        "",
        f"**Counts** (images per source; `generated` counts every image {made}, `kept` those that passed the filters):",
        "",
        *counts_table(contents),
        "",
        "**Categories, styles and sizes** of the kept images:",
        "",
        *breakdown_table(contents, "category", lambda s: s.category),
        "",
        *breakdown_table(contents, "style", lambda s: s.style),
        "",
        *breakdown_table(contents, "size", lambda s: s.size),
        "",
        *picture_lines(contents, pictures, "samples"),
        "**Labels.** The prompt is the label: `json.prompt.objects` names what the image should show, checked "
        "against the image by no one. No image is annotated by hand.",
        "",
        "**Missing information.** Every json field is always present; a field the source could not know is null.",
        "",
        "**Splits.** One `train` split per config: `default` (every source) and one config per source. The "
        "benchmark compresses all of it; there is no training use that would need a held-out split.",
        "",
        "**Sensitive content.** The images are synthetic; none shows a real, identified person by design, but a "
        "model may reproduce likenesses, logos or styles from its training data, and prompts of the `people` "
        "category ask for people. The filters check image quality, not content safety.",
    ]
    imported = imported_sources(contents.manifest)
    if imported:
        lossy = lossy_sources(contents.out, contents.manifest)
        lines += [
            "",
            f"**Imported sources.** {', '.join(f'`{s}`' for s in imported)} hold images made elsewhere and added with "
            "`aigi-scd import`; their generators, inputs and formats are in README.md. "
            + (
                f"Lossy sources: {', '.join(f'`{s}`' for s in lossy)}: their originals (JPEG or lossy WebP) are "
                "stored byte for byte and already carry one lossy compression's artefacts."
                if lossy
                else "None holds lossy originals."
            ),
        ]
    if any(_is_tiny(s) for s in contents.sources):
        tiny = ", ".join(f"`{s.name}`" for s in contents.sources if _is_tiny(s))
        lines += [
            "",
            f"**Tiny sources.** {tiny} are random-weight pipelines built offline to exercise the toolkit: their "
            "images are noise, not pictures.",
        ]
    return lines


def _collection(contents: BuildContents) -> list[str]:
    config = contents.manifest.get("config") or {}
    lines = []
    if config.get("suite") is not None:
        lines += [
            f"**Prompts.** {len(config.get('prompt_ids') or [])} prompts from suite `{config['suite']}` "
            f"(drawn with build seed {config.get('seed')}); every prompt's full spec is in `build.json` and in each "
            "sample's json.",
            "",
            f"**Seeds.** {config.get('images_per_prompt')} image(s) per prompt and source, each with its own seed "
            "derived from the build seed, the prompt id and the image index, recorded in the json: one seed "
            "regenerates one image alone.",
            "",
        ]
    lines += [
        "**Models and sampling settings** (as recorded in the samples):",
        "",
        *settings_table(contents),
        "",
        _software(contents),
        "",
        *versions_table(contents),
    ]
    return lines


def _software(contents: BuildContents) -> str:
    if _made(contents) == "imported":
        return (
            "**Software.** The kept images were made elsewhere, by software this folder does not record; the library "
            "versions that imported and judged them:"
        )
    if _made(contents) == "generated or imported":
        return (
            "**Software.** The library versions the kept images were generated with (imported ones: imported and "
            "judged with; their generators' software is not recorded):"
        )
    return "**Software.** The library versions the kept images were generated with:"


def _preprocessing(contents: BuildContents, pictures: dict[str, dict[str, Path]]) -> list[str]:
    return [
        *preset_lines(contents),
        "",
        "Each image went through the filters in this order and stopped at the first that rejected it; pass rates are "
        "over the images that reached a filter, and scores (min, median, max) over every image it scored.",
        "",
        *filter_table(contents),
        "",
        *picture_lines(contents, pictures, "scores"),
        "**Raw data.** Rejected images are kept, with every score and the rejecting filter's reason, under "
        "`rejects/<source>/`; `aigi-scd filter OUT --preset P` re-judges the generated ones without regenerating. "
        + {
            "generated": "Images are stored as the pipeline returned them, in lossless RGB PNG; nothing is resized, "
            "cropped or re-encoded.",
            "imported": "Imported images are stored as their original files, byte for byte (or, where readers would "
            "see their pixels differently, as the lossless PNG of what the filters judged); nothing is resized or "
            "cropped.",
        }.get(
            _made(contents),
            "Generated images are stored as the pipeline returned them, in lossless RGB PNG; imported ones as their "
            "original files, byte for byte (or the lossless PNG of what was judged); nothing is resized or cropped.",
        ),
    ]


def _uses(contents: BuildContents) -> list[str]:
    configs = compressed_config_names(contents.out)
    lines = [
        "**Intended.** Benchmarking image codecs, above all semantic codecs, at ultra-low bitrates: fidelity "
        "(full-reference metrics), perceptual quality (no-reference metrics) and semantic consistency with the "
        "prompt (`aigi-scd compress`).",
    ]
    if configs:
        lines += [
            "",
            f"This folder already holds {len(configs)} compressed set(s); their summary and rate–quality plots are "
            "in [README.md](README.md) and every reconstruction is in "
            "[benchmark/report.html](benchmark/report.html).",
        ]
    lines += [
        "",
        "**To avoid.** Drawing conclusions about photographs from AIGIs alone (compare with a natural set such as "
        "Kodak, `aigi-scd compress --images`); training generative models on the images against their models' "
        "licences; any use about real people, such as identification; treating filter scores as judgements of "
        "content or safety.",
    ]
    return lines


def _distribution(contents: BuildContents) -> list[str]:
    lines = [
        "The folder is a Hugging Face dataset: `datasets.load_dataset(FOLDER)` reads the WebDataset shards "
        "`data/<source>/train-NNNNN.tar` through the configs declared in README.md.",
        "",
        "**Licences.** Each image carries the licence of the model that made it, from the model's card:",
        "",
    ]
    imported = imported_sources(contents.manifest)
    for source in contents.sources:
        licences = source.licences()
        if licences:
            lines.append(f"- `{source.name}`: " + ", ".join(f"`{x}`" for x in licences))
        elif source.name in imported:
            lines.append(f"- `{source.name}`: not recorded (imported: the terms of its source apply)")
        else:
            lines.append(f"- `{source.name}`: not recorded")
    return lines


def _maintenance(contents: BuildContents) -> list[str]:
    commands = [
        *(
            [contents.manifest.get("command") or "aigi-scd build (options in build.json)"]
            if contents.manifest.get("config")
            else []
        ),
        *(contents.manifest.get("filter_commands") or []),
        *import_commands(contents.manifest),
        *made_with(contents.out),
    ]
    return [
        "The folder was made by these commands. Rerunning them resumes an interrupted run; in an empty folder they "
        + (
            "import the images again from their inputs:"
            if _made(contents) == "imported"
            else "make the images again from their recorded seeds"
            + (" (imported ones: from their inputs):" if _made(contents) != "generated" else ":")
        ),
        "",
        "```",
        *commands,
        "```",
        "",
        "`aigi-scd card FOLDER` rewrites this datasheet, README.md, the pictures and the benchmark report from what "
        "is on disk, after any change to the folder.",
    ]


def render_datasheet(contents: BuildContents, pictures: dict[str, dict[str, Path]] | None = None) -> str:
    pictures = pictures or {}
    bodies = (
        _motivation(contents),
        _composition(contents, pictures),
        _collection(contents),
        _preprocessing(contents, pictures),
        _uses(contents),
        _distribution(contents),
        _maintenance(contents),
    )
    lines = [
        "# Datasheet: AIGI-SCD build",
        "",
        "Following *Datasheets for Datasets* (Gebru et al.). Written from the files of this folder; the "
        "dataset card is [README.md](README.md).",
        "",
    ]
    for number, (title, body) in enumerate(zip(SECTIONS, bodies, strict=True), start=1):
        lines += [f"## {number}. {title}", "", *body, ""]
    return "\n".join(lines)
