"""`aigi-scd import`: existing AIGIs, with their prompts, into a build folder as their own source."""

from __future__ import annotations

from pathlib import Path

import click

from aigi_scd.cli.app import DEVICE, cli, reproduce_command


@cli.command("import")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--source",
    required=True,
    metavar="NAME",
    help="The source's name: its folder data/NAME/, its dataset config and its keys (letters, digits, - and _).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The build folder to add it to (or a new folder). Rerunning the same command resumes.",
)
@click.option(
    "--generator",
    default=None,
    metavar="NAME",
    help="The generator as you name it (e.g. midjourney-v6, dall-e-3) for rows that name none [the source name].",
)
@click.option(
    "--map",
    "mapping_items",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read FIELD from COLUMN (repeatable; a dotted COLUMN reaches into objects: prompt=Task2.Caption). "
    "Fields: path, image, prompt, negative, generator, seed, steps, guidance, sampler, width, height, size, "
    "category, style, objects.",
)
@click.option(
    "--images-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where a manifest's relative image paths start [the manifest's folder].",
)
@click.option("--split", default=None, help="The split of a saved DatasetDict [its only split, or train].")
@click.option(
    "--filters",
    "preset",
    default=None,
    metavar="PRESET",
    help="Filter preset (`aigi-scd list filters`, or a .yaml path) [the source's, else the build's, else default].",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Rows per shard (also the unit of resuming).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Import only the first N rows of the input.")
@click.option(
    "--skip-bad-rows",
    is_flag=True,
    help="Skip rows that cannot be imported (missing file, undecodable image, empty prompt), reporting each, "
    "instead of stopping at the first.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Images scored by the filters together.",
)
@click.option(
    "--device", type=DEVICE, default="auto", show_default=True, help="auto: cuda > mps > cpu; cuda:N: a GPU by index."
)
@click.option("--overwrite", is_flag=True, help="Empty this source in --out (only this source) and import again.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def import_command(
    src,
    source,
    out,
    generator,
    mapping_items,
    images_dir,
    split,
    preset,
    shard_size,
    limit,
    skip_bad_rows,
    batch_size,
    device,
    overwrite,
    quiet,
) -> None:
    """Import existing AI-generated images with their prompts as source NAME of a build folder.

    SRC is a folder of images each with a sidecar prompt (x.png + x.txt, or x.json with "prompt" and
    optional generator, seed, steps, guidance, sampler, width, height); a .csv/.jsonl/.json/.parquet
    manifest whose rows name an image file (or hold its bytes) and its prompt, DiffusionDB's
    metadata.parquet and JourneyDB's annotation JSONL included; or a Hugging Face dataset on disk
    (save_to_disk, or an imagefolder with metadata.jsonl).

    Images go through the filter preset into OUT/data/NAME/ like generated ones: keys NAME-<prompt id>-<n>,
    every original kept byte for byte (a JPEG stays the JPEG its generator made, and the card says the
    source is lossy), the same image (by its file's sha256) imported once. OUT/README.md gains the config
    NAME: datasets.load_dataset(OUT, "NAME").

    \b
      aigi-scd import ~/midjourney --source midjourney-v6 --out out/aigi-scd
      aigi-scd import diffusiondb/metadata.parquet --source diffusiondb --generator stable-diffusion \\
          --limit 1000 --skip-bad-rows --out out/aigi-scd
      aigi-scd import JourneyDB/data/train/train_anno_realease_repath.jsonl --source midjourney-v5 \\
          --out out/aigi-scd
    """
    from aigi_scd.build.import_rows import parse_mapping
    from aigi_scd.build.import_run import ImportConfig, ImportRuntime, default_import_preset, import_images
    from aigi_scd.filters.preset import load_filter_preset

    config = ImportConfig(
        src=src,
        source=source,
        generator=generator,
        mapping=parse_mapping(mapping_items),
        images_dir=images_dir,
        split=split,
        shard_size=shard_size,
        limit=limit,
    )
    preset = preset or default_import_preset(out, source)
    config.filters = load_filter_preset(preset)
    command = reproduce_command(
        click.get_current_context(),
        leave_out=("batch_size", "device", "overwrite", "quiet"),
        resolved={"preset": preset},
    )
    runtime = ImportRuntime(batch_size=batch_size, device=device, progress=not quiet, skip_bad_rows=skip_bad_rows)
    report = import_images(config, out, runtime, overwrite=overwrite, command=command)
    resumed = f", {report.resumed_rows} done by an earlier run" if report.resumed_rows else ""
    click.echo(
        f"\n{report.source} ({report.form}): {report.rows} rows{resumed}. This run: {report.kept} kept, "
        f"{report.rejected} rejected by the filters, {report.duplicates} already imported, "
        f"{len(report.bad_rows)} bad rows skipped, in {report.shards} shards ({report.seconds:.1f} s)."
    )
    if report.lossy:
        click.echo(f"{report.lossy} kept images are lossy originals (JPEG or lossy WebP), stored byte for byte.")
    if report.bad_rows:
        shown = min(len(report.bad_rows), 20)
        click.echo(
            f"Bad rows: the first {shown} are above; every one, with its reason, is in "
            f"{out}/data/{source}/*.stats.json (bad_rows)."
        )
    if report.source_kept:
        click.echo(f"Load them with: datasets.load_dataset({str(out)!r}, {source!r}, split='train')")
    else:
        duplicates_only = report.duplicates and not report.rejected
        why = "every image was already in the folder" if duplicates_only else "none passed the filters"
        click.echo(
            f"No image of {source!r} is kept ({why}), so {out} has no dataset config {source!r} to load; "
            + (
                "the images are in the folder under the sources that imported them first."
                if why.startswith("every")
                else f"the rejects and their reasons are in {out}/rejects/{source}/."
            )
        )
