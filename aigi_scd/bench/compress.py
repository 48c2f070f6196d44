"""`aigi-scd compress`: every image of every set, through every codec at every target, decoded and scored.

Layout under the output folder (a build folder, or ``--out`` for image folders)::

    compressed/<codec>-<target>/<source>-NNNNN.tar          bitstream + reconstruction (png) + json per image
    compressed/<codec>-<target>/<source>-NNNNN.stats.json   every row of the unit, written last: the done-marker
    benchmark/...                                           tables and plots (aigi_scd.bench.benchmark), derived

A unit is one (codec, target, source shard). Encoding runs in a pool of CPU processes; on the CPU each worker
also scores the image it decoded, on an accelerator the main process scores in batches sized by pixels. The
work is one task per image for every codec and target (``bench/compressor.py``), and each finished image is kept
in its unit's journal at once (``compressed/<codec>-<target>/<source>-NNNNN.partial/``, merged into the tar and
stats file when the unit's last image is in), so an interrupt loses only the images in flight. Work streams:
originals are read one at a time, so memory does not grow with the number or size of the images. Under a
launcher (torchrun, accelerate launch) the units are dealt out among the ranks, each scoring on its own device;
rank 0 writes the tables once every unit is done. A rerun skips finished units, rescoring them only when metrics
were added (or were computed under an earlier convention), goes on from the journals of unfinished ones, and
redoes units whose images or codec preset changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aigi_scd.bench import encode_worker
from aigi_scd.bench.compressor import Compressor, CompressReport
from aigi_scd.bench.environment import unit_environment
from aigi_scd.bench.external_results import with_their_sets
from aigi_scd.bench.metrics import Scorer
from aigi_scd.bench.options import CodecChoice, check_codec, check_output, needs_models
from aigi_scd.bench.report import DEFAULT_REPORT_IMAGES
from aigi_scd.bench.sources import Source
from aigi_scd.bench.units import plan_units
from aigi_scd.bench.work_groups import work_groups
from aigi_scd.dataset.files import ensure_dir, read_json_or_explain, write_json_atomic
from aigi_scd.errors import ConfigError
from aigi_scd.iqa import MetricInfo
from aigi_scd.weights.device import pick_device
from aigi_scd.weights.ranks import current_ranks
from aigi_scd.weights.workers import default_workers


def _record_sources(
    out: Path, sources: list[Source], command: str | None, codecs: list[str], anchor: str | None
) -> None:
    """``compress.json``: which sets the output holds (merged over runs), and the last command with its codec order
    and anchor (so `aigi-scd card` redraws the tables as this run did)."""
    path = Path(out) / "compress.json"
    fix = "delete it and run again (it is written anew with the sets of that run)"
    manifest = read_json_or_explain(path, "the list of compressed sets", fix) if path.is_file() else {"sources": {}}
    for source in sources:
        entry = {"kind": source.kind, "root": str(source.root), "images": source.size}
        if source.shard_size is not None:
            entry["shard_size"] = source.shard_size  # so `verify` and the tables can redo the split
        manifest["sources"][source.name] = entry
    manifest["command"] = command
    manifest["codecs"] = codecs
    manifest["anchor"] = anchor
    write_json_atomic(path, manifest)


PARALLEL_PLOTS = 4  # from this many metrics on, worker processes draw the RD plots


def plot_workers(workers: int, metrics: list[MetricInfo]) -> int:
    """Processes that draw the RD plots: as many as encoded; none for a few plots or a single core (the main process
    draws them: starting workers would cost more than they save)."""
    return workers if workers > 1 and len(metrics) >= PARALLEL_PLOTS else 0


def compress(
    out: Path,
    sources: list[Source],
    codecs: list[CodecChoice],
    targets: list[float],
    metrics: list[MetricInfo],
    *,
    is_build: bool,
    workers: int | None = None,
    device: str = "auto",
    batch_size: int = 8,  # metric batches, in 1024² images' worth of pixels
    clip_model: str | None = None,
    anchor: str | None = None,
    progress: bool = True,
    command: str | None = None,
    report_images: int = DEFAULT_REPORT_IMAGES,
) -> tuple[CompressReport, dict[str, Any]]:
    """Compress and score every source with every codec at every target, then (re)write the benchmark files,
    the report and the card. Everything that can fail for lack of weights fails before the first unit. On a rank
    other than 0 the benchmark is None (rank 0 writes it, once every rank's units are done)."""
    from aigi_scd.bench.benchmark import write_benchmark
    from aigi_scd.bench.metrics import DEFAULT_CLIP_MODEL
    from aigi_scd.bench.publish import publish

    out = Path(out)
    device = pick_device(device)
    ranks = current_ranks(cpu=device == "cpu")
    device = ranks.device(device)
    check_output(out, is_build)
    if report_images < 1:
        raise ConfigError(f"--report-images must be at least 1, got {report_images}")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"two sets share the name {next(n for n in names if names.count(n) > 1)!r}; rename a folder")
    if anchor is not None and anchor not in [c.name for c in codecs]:
        raise ConfigError(f"--anchor {anchor!r} is not one of --codecs ({', '.join(c.name for c in codecs)})")
    codecs = with_their_sets(codecs, sources)  # results made elsewhere: checked, and run on the sets they name
    in_process = set()
    environments = {}
    built = {}
    for choice in codecs:
        codec = built[choice.spec] = check_codec(choice)
        environments[choice.name] = unit_environment(choice.preset, codec, device)
        if needs_models(choice.preset):
            in_process.add(choice.spec)
            encode_worker.remember_codec(choice.spec, codec)
    workers = default_workers() if workers is None else workers
    score_in_workers = device == "cpu" and workers > 0  # each image is scored where it was decoded
    scorer = Scorer(
        metrics,
        device=device,
        batch_size=batch_size,
        clip_model=clip_model or DEFAULT_CLIP_MODEL,
        defer_weight_free=score_in_workers,
    )
    if ranks.is_main:
        ensure_dir(out, "choose another --out")
        _record_sources(out, sources, command, [c.name for c in codecs], anchor)
    ranks.barrier()
    units = plan_units(out, sources, codecs, targets)
    for unit in units:  # a unit made with other libraries, device or dtype is redone, never mixed in
        unit.environment = environments[unit.codec.name]
    compressor = Compressor(
        out,
        scorer,
        workers,
        progress=progress,
        in_process=in_process,
        ranks=ranks,
        score_in_workers=score_in_workers,
        work_groups=work_groups(built),
    )
    report = compressor.run(units)
    oracles = [c.name for c in codecs if c.preset.oracle]
    natural = [s.name for s in sources if s.kind != "aigi"]
    if oracles and natural:
        report.notes.append(
            f"{', '.join(oracles)} read the generation prompt, which {', '.join(natural)} do not have: not run there"
        )
    if not ranks.is_main:
        return report, None  # rank 0 writes the tables, the report and the card, once every rank's units are done
    bench = write_benchmark(
        out,
        anchor=anchor,
        codec_order=[c.name for c in codecs],
        scorer=scorer,
        sources={s.name: s for s in sources},
        progress=progress,
        plot_workers=plot_workers(workers, metrics),
    )
    publish(out, benchmark=bench, report_images=report_images)
    return report, bench
