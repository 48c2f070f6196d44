"""The `aigi-scd` command line: parse options, call one function, print a summary."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from aigi_scd import __version__
from aigi_scd.errors import AigiScdError


class _Group(click.Group):
    """Turns AigiScdError into a one-line message and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AigiScdError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="aigi-scd")
def cli() -> None:
    """Build AIGI-SCD, a benchmark of AI-generated images for ultra-low-bitrate semantic compression.

    \b
    Start offline, with tiny random-weight pipelines (no downloads):
      aigi-scd build --models tiny-sdxl,tiny-pixart --num-prompts 6 --seed 0 --out out/tiny
    On a machine with a GPU and a hub connection, with real models:
      aigi-scd build --models sdxl,pixart --num-prompts 1000 --out out/aigi-scd
    Then: datasets.load_dataset("out/aigi-scd")

    \b
    Compress one image with the MISC codec or a baseline, and back:
      aigi-scd encode photo.png -o photo.misc --bpp 0.03 --codec misc-offline
      aigi-scd decode photo.misc -o photo.decoded.png
    """


@cli.command()
@click.option(
    "--models",
    "models_spec",
    required=True,
    metavar="NAMES",
    help="Comma-separated model cards: names from `aigi-scd models` or paths to card .yaml files.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder. Rerunning the same command resumes it.",
)
@click.option(
    "--num-prompts", type=int, default=None, help="How many prompts to draw from the suite (default: all of them)."
)
@click.option(
    "--prompts",
    "suite",
    default="starter",
    show_default=True,
    metavar="SUITE",
    help="Prompt suite: a name from the prompts/ registry or a path to a suite .yaml file.",
)
@click.option(
    "--images-per-prompt",
    type=int,
    default=1,
    show_default=True,
    help="Images per prompt and model, each with its own seed (the N a best_of_n filter step picks from).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Build seed: picks the prompts and every image's seed."
)
@click.option(
    "--batch-size",
    type=int,
    default=4,
    show_default=True,
    help="Prompts per pipeline call. Does not change which samples are made.",
)
@click.option(
    "--shard-size",
    type=int,
    default=256,
    show_default=True,
    help="Samples per WebDataset shard (also the unit of resuming); rounded down to whole prompts.",
)
@click.option(
    "--filters",
    "preset",
    default=None,
    metavar="PRESET",
    help="Filter preset: a name from the filters/ registry (`aigi-scd filters`) or a path to a preset .yaml. "
    "Default: `default` (learned metrics; pyiqa fetches their weights on first use) for real models, "
    "`offline` (weight-free) when every model is a tiny offline card.",
)
@click.option("--device", default="auto", show_default=True, help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.")
@click.option(
    "--dtype",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "float16", "bfloat16", "float32"]),
    help="auto: the card's half precision on GPUs, float32 on CPU.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="AIGI_SCD_CACHE",
    default=None,
    help="Where tiny offline pipelines are built [env AIGI_SCD_CACHE; ~/.cache/aigi-scd].",
)
@click.option(
    "--overwrite", is_flag=True, help="Delete an existing build of a different configuration in --out and start again."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build(
    models_spec,
    out,
    num_prompts,
    suite,
    images_per_prompt,
    seed,
    batch_size,
    shard_size,
    preset,
    device,
    dtype,
    cache_dir,
    overwrite,
    quiet,
) -> None:
    """Generate images with text-to-image models into WebDataset shards with full provenance.

    Every image goes through the filter preset (--filters): images it rejects go, with every score and
    the rejecting filter's reason, to OUT/rejects/; kept ones to OUT/data/<model>/train-NNNNN.tar with a
    json of their prompt, model card, seed, settings and filter scores. OUT/README.md describes the
    dataset (pass rates per filter and model) so that datasets.load_dataset(OUT) loads it.
    """
    from aigi_scd.build import BuildConfig, Runtime
    from aigi_scd.build import build as run_build
    from aigi_scd.filters.preset import default_preset_name, load_preset
    from aigi_scd.pipelines.card import load_cards
    from aigi_scd.prompts import load_suite, select_prompts

    cards = load_cards(models_spec)
    specs = load_suite(suite)
    prompts = select_prompts(specs, num_prompts if num_prompts is not None else len(specs), seed)
    preset = preset or default_preset_name(cards)
    config = BuildConfig(
        cards=cards,
        prompts=prompts,
        suite=suite,
        seed=seed,
        images_per_prompt=images_per_prompt,
        shard_size=shard_size,
        filters=load_preset(preset),
    )
    command = shlex.join(
        [
            "aigi-scd",
            "build",
            "--models",
            models_spec,
            "--prompts",
            suite,
            "--num-prompts",
            str(len(prompts)),
            "--images-per-prompt",
            str(images_per_prompt),
            "--seed",
            str(seed),
            "--shard-size",
            str(shard_size),
            "--filters",
            preset,
            "--out",
            str(out),
        ]
    )
    runtime = Runtime(batch_size=batch_size, device=device, dtype=dtype, cache_dir=cache_dir, progress=not quiet)
    report = run_build(config, out, runtime, overwrite=overwrite, command=command)
    click.echo(f"\n{'model':<20} {'kept':>6} {'rejected':>9} {'shards':>7} {'resumed':>8} {'seconds':>8}")
    for m in report.models:
        click.echo(f"{m.name:<20} {m.kept:>6} {m.rejected:>9} {m.shards:>7} {m.shards_skipped:>8} {m.seconds:>8.1f}")
    click.echo(f"\n{report.kept} images in {out}. Load them with: datasets.load_dataset({str(out)!r}, split='train')")


@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="Also show dtype, scheduler and extra call arguments.")
def models(verbose: bool) -> None:
    """List the model cards in the pipelines/ registry."""
    from aigi_scd.pipelines.card import card_paths, load_card_file

    click.echo(f"{'name':<17} {'size':>9} {'steps':>5} {'cfg':>4}  {'repo':<48} licence")
    for name, path in card_paths().items():
        try:
            card = load_card_file(path)
        except AigiScdError as exc:
            click.echo(f"{name:<17} (invalid card: {exc})")
            continue
        c = card.call
        click.echo(
            f"{card.name:<17} {f'{c.width}x{c.height}':>9} {c.steps:>5} {c.guidance:>4g}  {card.repo:<48} "
            f"{card.license}"
        )
        if verbose:
            scheduler = card.scheduler.cls if card.scheduler else "(repo default)"
            click.echo(
                f"{'':<17} {card.pipeline or 'auto'}, {card.dtype}, variant={card.variant}, "
                f"scheduler={scheduler}, extra={c.extra}"
            )
            if card.description:
                click.echo(f"{'':<17} {card.description}")
    click.echo("\nTiny cards (repo tiny:...) are random-weight pipelines built offline, for tests and trying the tool.")


@cli.command("filter")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--preset",
    required=True,
    metavar="PRESET",
    help="Filter preset: a name from the filters/ registry (`aigi-scd filters`) or a path to a preset .yaml.",
)
@click.option("--batch-size", type=int, default=8, show_default=True, help="Images scored together.")
@click.option("--device", default="auto", show_default=True, help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def filter_command(out: Path, preset: str, batch_size: int, device: str, quiet: bool) -> None:
    """Re-filter the build in OUT with another preset, without regenerating.

    Every generated image, kept or rejected, is re-scored, so a stricter preset moves images to
    OUT/rejects/ and a looser one brings them back. New shards, stats, build.json and card are staged
    in OUT/.filter-staging/ and swapped in only when all are complete: OUT stays loadable throughout,
    and rerunning the same command after a kill resumes the staging.

    \b
    Example: aigi-scd filter out/tiny --preset my-preset.yaml
    """
    from aigi_scd.filters.preset import load_preset
    from aigi_scd.refilter import refilter

    chain = load_preset(preset)
    command = shlex.join(["aigi-scd", "filter", str(out), "--preset", preset])
    report = refilter(out, chain, batch_size=batch_size, device=device, progress=not quiet, command=command)
    click.echo(
        f"\n{'model':<20} {'generated':>9} {'kept':>6} {'rejected':>9} {'was kept':>9} {'back':>6} {'dropped':>8}"
    )
    for m in report.models:
        counts = f"{m.generated:>9} {m.kept:>6} {m.rejected:>9} {m.kept_before:>9} {m.restored:>6} {m.dropped:>8}"
        click.echo(f"{m.name:<20} {counts}")
    resumed = f" ({report.resumed_shards} shards resumed from an interrupted run)" if report.resumed_shards else ""
    click.echo(f"\n{report.kept} images kept in {out} by preset {chain.name!r} in {report.seconds:.1f} s{resumed}.")
    if not report.kept:
        click.echo("No image passed: the dataset is empty until a looser preset brings images back.")


@cli.command("filters")
def filters_command() -> None:
    """List the filter presets in the filters/ registry and the steps each runs."""
    from aigi_scd.filters.preset import load_preset, preset_paths

    for name, path in preset_paths().items():
        try:
            chain = load_preset(str(path))
        except AigiScdError as exc:
            click.echo(f"{name}: (invalid preset: {exc})")
            continue
        click.echo(f"{name}: {chain.description}")
        click.echo(f"  {' → '.join(chain.names)}")
    click.echo("\nUse one with `aigi-scd build --filters NAME` or `aigi-scd filter OUT --preset NAME`.")


@cli.command()
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the compressed file.",
)
@click.option(
    "--codec",
    "codec_name",
    default="misc-offline",
    show_default=True,
    help="Codec preset: a name from `aigi-scd codecs` or a path to a codec .yaml file.",
)
@click.option("--bpp", type=float, default=None, help="Target bits per pixel (every byte of the file counts).")
@click.option("--level", default=None, help="A named target from the preset (e.g. low, mid, high).")
@click.option("--prompt", default=None, help="Generation prompt of an AI-generated image (MISC's prompt semantics).")
def encode(
    image: Path, output: Path, codec_name: str, bpp: float | None, level: str | None, prompt: str | None
) -> None:
    """Compress IMAGE into a file at a target bitrate.

    \b
    aigi-scd encode kodim01.png -o kodim01.misc --bpp 0.03 --codec misc-offline
    aigi-scd encode kodim01.png -o kodim01.avif --bpp 0.2 --codec avif
    A target below what the codec can reach is reported, never exceeded.
    """
    from aigi_scd.codec import build_codec, load_preset
    from aigi_scd.shards import write_bytes_atomic

    preset = load_preset(codec_name)
    target = preset.target(bpp, level)
    result = build_codec(preset).encode_report(image, target, prompt=prompt)
    write_bytes_atomic(output, result.data)
    target_text = f" (target {target:g})" if target is not None else ""
    click.echo(
        f"{output}: {preset.name}, {result.width}x{result.height}, {len(result.data)} bytes, "
        f"{result.bpp:.4f} bpp{target_text}"
    )
    if "layers" in result.info:
        layers = ", ".join(f"{k} {v} B" for k, v in result.info["layers"].items())
        click.echo(
            f"  layers: {layers}; thumbnail {result.info.get('thumbnail')}, quality {result.info.get('quality')}"
        )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the decoded image (PNG).",
)
def decode(file: Path, output: Path) -> None:
    """Decode a FILE written by any aigi-scd codec (the file names its codec) to a PNG."""
    import io

    from aigi_scd.codec import decode_file
    from aigi_scd.errors import AigiScdError
    from aigi_scd.shards import write_bytes_atomic

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise AigiScdError(f"cannot read {file}: {exc.strerror}") from None
    image, codec = decode_file(data)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    write_bytes_atomic(output, buffer.getvalue())
    click.echo(
        f"{output}: {image.size[0]}x{image.size[1]} from {codec.name}, {len(data)} bytes "
        f"({8 * len(data) / (image.size[0] * image.size[1]):.4f} bpp)"
    )


@cli.command()
def codecs() -> None:
    """List the codec presets in the codec/ registry."""
    from aigi_scd.codec import all_presets

    for preset in all_presets():
        levels = ", ".join(f"{k}={v:g}" for k, v in preset.levels.items())
        ident = f"id {preset.id}" if preset.id is not None else preset.kind
        click.echo(f"{preset.name:<14} {ident:<11} {preset.description}")
        if levels:
            click.echo(f"{'':<26} levels: {levels}")


@cli.command()
@click.argument("build_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--images",
    "image_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of images to compress as a natural-image set (repeatable), e.g. Kodak.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder for --images without a build (with a build, results go into BUILD_DIR).",
)
@click.option(
    "--codecs",
    "codecs_spec",
    default="misc,thumb-avif,avif,webp,jpeg",
    show_default=True,
    help="Comma-separated codec presets (`aigi-scd codecs`) or paths to codec .yaml files.",
)
@click.option("--bpp", "bpp_spec", default="0.02,0.03,0.05", show_default=True, help="Target bits per pixel.")
@click.option(
    "--metrics",
    "metrics_spec",
    default="full",
    show_default=True,
    help="Metric presets and/or metric names, comma-separated. full: psnr,ms_ssim,lpips,dists,clip_sim,niqe,"
    "clipiqa,musiq,fid,kid (downloads weights once); offline: weight-free psnr,ssim,ms_ssim,gmsd,fsim,vsi,"
    "nlpd,piqe; also consistency, perception, set, or any pyiqa metric name.",
)
@click.option("--anchor", default=None, help="Codec the BD-rates are measured against [thumb-avif when present].")
@click.option(
    "--workers", type=int, default=None, help="Encoding processes [one per CPU core]; 0 encodes in this process."
)
@click.option("--device", default="auto", show_default=True, help="Metrics device: auto (cuda > mps > cpu), cpu, cuda.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Images per metric batch.")
@click.option(
    "--shard-size", type=int, default=64, show_default=True, help="Images per unit of work for --images folders."
)
@click.option(
    "--clip-model",
    default=None,
    help="CLIP model (hub id or local folder) for clip_sim [openai/clip-vit-base-patch32].",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def compress(
    build_dir,
    image_dirs,
    out,
    codecs_spec,
    bpp_spec,
    metrics_spec,
    anchor,
    workers,
    device,
    batch_size,
    shard_size,
    clip_model,
    quiet,
) -> None:
    """Compress and score every image of a build (and/or image folders) with every codec at every target.

    \b
    aigi-scd compress out/tiny --codecs misc-offline,thumb-avif --bpp 0.3,1 --metrics offline
    aigi-scd compress --images ../shared/data/kodak --codecs misc-offline,thumb-avif,avif,webp,jpeg \\
        --bpp 0.02,0.03,0.05 --metrics offline --out out/kodak

    \b
    Writes OUT/compressed/<codec>-<target>/*.tar (bitstream, reconstruction, scores; a dataset config
    each: datasets.load_dataset(OUT, "misc-offline-0.03")) and OUT/benchmark/: results.parquet (one row
    per image, codec and target), summary.csv/.md (mean and 95% CI per set, codec and target),
    rd_<metric>.png and bd_rate.csv. Targets a codec cannot reach are recorded as unreachable, never
    exceeded. Rerunning resumes: finished units are kept, and added metrics are computed from the stored
    reconstructions.
    """
    from aigi_scd.benchmark import benchmark_dir, screen_summary
    from aigi_scd.compress import compress as run_compress
    from aigi_scd.compress import parse_codecs, parse_targets
    from aigi_scd.compressed_card import compressed_config_names
    from aigi_scd.errors import ConfigError
    from aigi_scd.metrics import resolve_metrics
    from aigi_scd.sources import build_sources, folder_source

    if build_dir is None and not image_dirs:
        raise ConfigError("give a build folder (aigi-scd compress OUT) or --images FOLDER --out DIR")
    if build_dir is not None and out is not None:
        raise ConfigError("with a build folder, results go into it; drop --out (it is for --images alone)")
    if build_dir is None and out is None:
        raise ConfigError("--images needs --out DIR: where the compressed sets and the benchmark go")
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers must be 0 or more, got {workers}")
    codecs = parse_codecs(codecs_spec)
    targets = parse_targets(bpp_spec)
    metrics = resolve_metrics(metrics_spec)
    sources = build_sources(build_dir) if build_dir is not None else []
    sources += [folder_source(folder, shard_size) for folder in image_dirs]
    target_dir = build_dir if build_dir is not None else out
    args = ["aigi-scd", "compress", *([str(build_dir)] if build_dir is not None else [])]
    for folder in image_dirs:
        args += ["--images", str(folder)]
    args += ["--codecs", codecs_spec, "--bpp", bpp_spec, "--metrics", metrics_spec]
    args += ["--anchor", anchor] if anchor else []
    args += ["--out", str(out)] if out is not None else []
    report, bench = run_compress(
        target_dir,
        sources,
        codecs,
        targets,
        metrics,
        is_build=build_dir is not None,
        workers=workers,
        device=device,
        batch_size=batch_size,
        clip_model=clip_model,
        anchor=anchor,
        progress=not quiet,
        command=shlex.join(args),
    )
    click.echo(screen_summary(bench["summary"], bench["metrics"], [c.name for c in codecs]))
    click.echo(
        f"\n{report.units} units: {report.encoded} encoded, {report.resumed} already done, {report.rescored} "
        f"rescored, in {report.seconds:.1f} s. This run: {report.ok} reconstructed, {report.unreachable} "
        f"unreachable, {report.errors} errors."
    )
    for example in report.error_examples[:3]:
        click.echo(f"  error: {example}")
    folder = benchmark_dir(target_dir)
    click.echo(
        f"Tables and plots in {folder}: summary.md, results.parquet, rd_*.png, bd_rate.csv (anchor {bench['anchor']})."
    )
    configs = compressed_config_names(target_dir)
    if configs:
        click.echo(f'Load a set with: datasets.load_dataset({str(target_dir)!r}, "{configs[0]}", split="train")')


def main(argv: list[str] | None = None) -> None:
    """Console entry point; `argv` lets tests call it directly."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="aigi-scd")
