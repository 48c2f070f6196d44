"""`aigi-scd list models|codecs|filters|prompts`: what each registry holds, one entry a line (a malformed
entry is shown inline with its error, and the listing goes on)."""

from __future__ import annotations

import click

from aigi_scd.cli.app import cli
from aigi_scd.errors import AigiScdError


@cli.group("list")
def list_group() -> None:
    """List what the registries hold: model cards, codec presets, filter presets, prompt suites.

    \b
      aigi-scd list models -v
      aigi-scd list codecs
    """


@list_group.command("models")
@click.option("--verbose", "-v", is_flag=True, help="Also show dtype, scheduler and extra call arguments.")
def list_models(verbose: bool) -> None:
    """List the model cards in the pipelines/ registry."""
    from aigi_scd.pipelines.card import card_paths, load_card_file

    click.echo(f"{'name':<19} {'size':>9} {'steps':>5} {'cfg':>4}  {'repo':<48} licence")
    for name, path in card_paths().items():
        try:
            card = load_card_file(path)
        except AigiScdError as exc:
            click.echo(f"{name:<19} (invalid card: {exc})")
            continue
        c = card.call
        click.echo(
            f"{card.name:<19} {f'{c.width}x{c.height}':>9} {c.steps:>5} {c.guidance:>4g}  {card.repo:<48} "
            f"{card.license}"
        )
        if verbose:
            scheduler = card.scheduler.cls if card.scheduler else "(repo default)"
            click.echo(
                f"{'':<19} {card.pipeline or 'auto'}, {card.dtype}, variant={card.variant}, "
                f"scheduler={scheduler}, extra={c.extra}"
            )
            m = card.memory
            click.echo(
                f"{'':<19} revision={card.revision}, offload={m.offload}, vae_tiling={m.vae_tiling}, "
                f"vae_slicing={m.vae_slicing}"
            )
            if card.description:
                click.echo(f"{'':<19} {card.description}")
    click.echo("\nTiny cards (repo tiny:...) are random-weight pipelines built offline, for tests and trying the tool.")


@list_group.command("codecs")
def list_codecs() -> None:
    """List the codec presets in the codec/ registry."""
    from aigi_scd.codec.presets import preset_listing

    for name, preset, error in preset_listing():
        if preset is None:
            click.echo(f"{name:<14} (invalid preset: {error})")
            continue
        levels = ", ".join(f"{k}={v:g}" for k, v in preset.levels.items())
        ident = f"id {preset.id}" if preset.id is not None else preset.kind
        click.echo(f"{preset.name:<14} {ident:<11} {preset.description}")
        if levels:
            click.echo(f"{'':<26} levels: {levels}")


@list_group.command("filters")
def list_filters() -> None:
    """List the filter presets in the filters/ registry and the steps each runs."""
    from aigi_scd.filters.preset import filter_preset_paths, load_filter_preset

    for name, path in filter_preset_paths().items():
        try:
            chain = load_filter_preset(str(path))
        except AigiScdError as exc:
            click.echo(f"{name}: (invalid preset: {exc})")
            continue
        click.echo(f"{name}: {chain.description}")
        click.echo(f"  {' → '.join(chain.names)}")
    click.echo("\nUse one with `aigi-scd build --filters NAME` or `aigi-scd filter OUT --preset NAME`.")


@list_group.command("prompts")
def list_prompts() -> None:
    """List the prompt suites in the prompts/ registry."""
    from aigi_scd.prompts.sources import suite_listing

    for line in suite_listing():
        click.echo(line)
