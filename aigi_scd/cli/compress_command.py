"""`aigi-scd compress`: the benchmark stage, every set through every codec at every target, scored."""

from __future__ import annotations

from pathlib import Path

import click

from aigi_scd.cli.app import BPP_LIST, DEVICE, cli, reproduce_command


@cli.command()
@click.argument("build_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--images",
    "image_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of images to compress as a natural-image set (repeatable), e.g. Kodak: every image in it and its "
    "subfolders, as `aigi-scd import` reads a folder, with an x.txt/x.json prompt where there is one.",
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
    help="Comma-separated codec presets (`aigi-scd list codecs`) or paths to codec .yaml files. Of the defaults, "
    "misc downloads its models on first use (Qwen2.5-VL-7B, CLIPSeg, SDXL); misc-offline needs none.",
)
@click.option(
    "--results",
    "results_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of results made elsewhere to score as a codec (repeatable): RESULTS/<target>/<key>.<ext> "
    "bitstreams beside <key>.png reconstructions, optional RESULTS/codec.yaml (name, decoder to re-check them); "
    "see docs/codecs.md. With --results alone, --codecs defaults to none.",
)
@click.option(
    "--bpp",
    "bpp_spec",
    type=BPP_LIST,
    default="0.02,0.03,0.05",
    show_default=True,
    help="Target bits per pixel, a comma-separated list: every codec is run at each.",
)
@click.option(
    "--metrics",
    "metrics_spec",
    default="full",
    show_default=True,
    help="Metric presets and/or metric names, comma-separated. full: psnr,ms_ssim,lpips,dists,clip_sim,niqe,"
    "clipiqa,musiq,fid,kid, of which lpips, dists, clip_sim, niqe, clipiqa, musiq, fid and kid download weights "
    "on first use; offline: weight-free psnr,ssim,ms_ssim,gmsd,fsim,vsi,nlpd,piqe; also consistency, "
    "perception, set, or any pyiqa metric name. ms_ssim is MS-SSIM on RGB as CompressAI reports it; ms_ssim_y "
    "scores the Y channel (pyiqa's default), as ssim does.",
)
@click.option("--anchor", default=None, help="Codec the BD-rates are measured against [thumb-avif when present].")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Encoding processes [one per CPU core]; 0 encodes in this process.",
)
@click.option(
    "--device",
    type=DEVICE,
    default="auto",
    show_default=True,
    help="Where the metrics run: auto picks cuda > mps > cpu; cuda:N a GPU by index.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Metric batches on an accelerator, in 1024×1024 images' worth of pixels (8: eight 1024² images, two "
    "2048² ones): memory per batch does not grow with resolution. On the CPU each worker scores its own images.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Images per unit of work for --images folders.",
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
    results_dirs,
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
    aigi-scd compress --images kodak/ --codecs misc-offline,thumb-avif,avif,webp,jpeg \\
        --bpp 0.02,0.03,0.05 --metrics offline --out out/kodak
    aigi-scd compress --images kodak --codecs thumb-hevc --results perco-results/ --metrics offline --out out/k
    torchrun --nproc_per_node 2 -m aigi_scd compress out/tiny --codecs avif --bpp 0.3 --metrics offline

    \b
    The defaults (codecs misc,..., metrics full) download model weights on first use; with no network, use
    --codecs misc-offline,thumb-avif,avif,webp,jpeg --metrics offline.

    \b
    Writes OUT/compressed/<codec>-<target>/*.tar (bitstream, reconstruction, scores; a dataset config
    each: datasets.load_dataset(OUT, "misc-offline-0.03")) and OUT/benchmark/: results.parquet (one row
    per image, codec and target), summary.csv/.md (mean and 95% CI per set, codec and target),
    rd_<metric>.png and bd_rate.csv. Targets a codec cannot reach are recorded as unreachable, never
    exceeded. Rerunning resumes: finished units are kept, every image an interrupted run finished is kept
    (the rerun says how many), and added metrics are computed from the stored reconstructions. Open
    OUT/benchmark/report.html in a browser to see every reconstruction beside its original.
    """
    from aigi_scd.bench.compress import compress as run_compress
    from aigi_scd.bench.metrics import resolve_metrics
    from aigi_scd.bench.options import parse_codecs, parse_targets, plan_inputs
    from aigi_scd.bench.results import benchmark_dir, fullest_config
    from aigi_scd.bench.stale import describe_left_out
    from aigi_scd.bench.tables import screen_summary

    targets = parse_targets(bpp_spec)  # the cheap checks first: a typo stops the command before any file is read
    if results_dirs and click.get_current_context().get_parameter_source("codecs_spec").name == "DEFAULT":
        codecs_spec = ""  # results made elsewhere alone
    codecs = parse_codecs(codecs_spec, list(results_dirs))
    metrics = resolve_metrics(metrics_spec)
    sources, target_dir = plan_inputs(build_dir, list(image_dirs), out, shard_size, workers)
    command = reproduce_command(click.get_current_context(), leave_out=("workers", "device", "batch_size", "quiet"))
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
        command=command,
    )
    if bench is None:
        return  # a rank other than 0: rank 0 reports the whole run
    click.echo(screen_summary(bench["summary"], bench["metrics"], [c.name for c in codecs]))
    click.echo(
        f"\n{report.units} units: {report.encoded} encoded, {report.resumed} already done, {report.rescored} "
        f"rescored, in {report.seconds:.1f} s. This run: {report.ok} reconstructed, {report.unreachable} "
        f"unreachable, {report.errors} errors."
    )
    for example in report.error_examples[:3]:
        click.echo(f"  error: {example}")
    for line in describe_left_out(bench["left_out"], target_dir):
        click.echo(line)
    for note in report.notes:
        click.echo(f"  note: {note}")
    folder = benchmark_dir(target_dir)
    click.echo(
        f"Tables and plots in {folder}: summary.md, results.parquet, rd_*.png, bd_rate.csv (anchor {bench['anchor']})."
    )
    click.echo(f"Every reconstruction beside its original: {folder / 'report.html'}")
    fullest = fullest_config(bench["results"], [c.name for c in codecs])
    if fullest is not None:
        config, held, total = fullest
        note = f"all {total} images" if held == total else f"{held} of {total} images: no config holds them all"
        click.echo(f'Load a set with: datasets.load_dataset({str(target_dir)!r}, "{config}", split="train")  # {note}')
