"""`aigi-scd verify DIR`: check a build or compress output folder, and repair what can be rebuilt."""

from __future__ import annotations

from pathlib import Path

import click

from aigi_scd.cli.app import cli


@cli.command("verify")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild what can be rebuilt from the files (stats files, the card, the benchmark tables), set aside or "
    "remove what cannot, then list what must be regenerated and the command that does it.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Read tar headers and stats files only: no image decoded, no hash computed, no config loaded.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify_command(out: Path, repair: bool, quick: bool, quiet: bool) -> None:
    """Check that the build or compress folder OUT is whole and consistent.

    Every tar opens to its end and every sample decodes; each PNG matches the sha256 in its json; keys are
    unique across shards and models and no tar a config loads is outside the plan; stats files agree with
    their tars; kept + rejected = generated; compressed bitstreams have the bytes and bpp their rows record
    and their units match the current sources (keys and the originals' sha256); every column of the results
    table and the summaries rebuilt from the units match; the card's configs name files and load. Exit code 0
    when all holds, 1 with one PROBLEM line each otherwise; the commands it prints write into OUT.

    \b
      aigi-scd verify out/tiny
      aigi-scd verify out/tiny --repair
    """
    from aigi_scd.verify import verify

    report = verify(out, repair=repair, deep=not quick, load=not quick, progress=not quiet)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise click.exceptions.Exit(1)
