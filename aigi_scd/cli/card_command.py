"""`aigi-scd card`: rewrite what a reader of an output folder sees (card, datasheet, pictures, benchmark report)
from what is on disk."""

from __future__ import annotations

from pathlib import Path

import click

from aigi_scd.cli.app import cli


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--report-images",
    type=click.IntRange(min=1),
    default=None,
    help="Images per set shown in benchmark/report.html, spread evenly over the set [6]. Every one is embedded "
    "with all its reconstructions, so large images make a large page.",
)
def card(folder: Path, report_images: int | None) -> None:
    """Rewrite FOLDER's README.md, DATASHEET.md, pictures and benchmark report from what is on disk.

    For a build: the dataset card (configs for datasets.load_dataset, counts per model, category and style, filter
    pass rates and score spreads, settings, versions, licences), the datasheet, a contact sheet and filter-score
    histograms per model in pictures/. Once `compress` has run: the benchmark tables, rate-quality plots and
    benchmark/report.html (every reconstruction beside its original). Nothing is generated, encoded or scored.

    \b
    Example: aigi-scd card out/tiny
    """
    from aigi_scd.bench.publish import publish
    from aigi_scd.bench.report import DEFAULT_REPORT_IMAGES
    from aigi_scd.bench.stale import describe_left_out

    result = publish(folder, report_images=DEFAULT_REPORT_IMAGES if report_images is None else report_images)
    for path in result.paths:
        click.echo(f"wrote {path}")
    for line in result.warnings:  # the card says so too; counted from what is on disk
        click.echo(f"Warning: {line}", err=True)
    for line in describe_left_out((result.benchmark or {}).get("left_out") or {}, folder):
        click.echo(line)
