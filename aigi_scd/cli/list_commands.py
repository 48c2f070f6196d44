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
@click.option("--brief", is_flag=True, help="Names and descriptions only (no probe encodes to measure fixed bytes).")
def list_codecs(brief: bool) -> None:
    """List the codecs: the presets in the codec/ registry and those installed packages register (entry points
    `aigi_scd.codecs`), where each came from, and its fixed bytes per file (header and container)."""
    from aigi_scd.codec.fixed import fixed_bytes_statement, origin
    from aigi_scd.codec.presets import preset_listing

    for name, preset, error in preset_listing():
        if preset is None:
            click.echo(f"{name:<20} (invalid preset: {error})")
            continue
        levels = ", ".join(f"{k}={v:g}" for k, v in preset.levels.items())
        ident = f"id {preset.id}" if preset.id is not None else preset.kind
        click.echo(f"{preset.name:<20} {ident:<11} {preset.description or _plugin_doc(preset)}")
        pad = " " * 32
        click.echo(f"{pad}from: {origin(preset)}")
        if not brief:
            click.echo(f"{pad}fixed bytes: {fixed_bytes_statement(preset)}")
        if levels:
            click.echo(f"{pad}levels: {levels}")


def _plugin_doc(preset) -> str:
    """An entry point's description: the first line of its class's docstring (or why it cannot be had)."""
    from aigi_scd.codec.plugins.python_class import load_object

    try:
        doc = (load_object(preset.plugin, preset.name).__doc__ or "").strip()
    except AigiScdError as exc:
        return f"(cannot import it: {exc})"
    return doc.splitlines()[0] if doc else "(no description)"


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
