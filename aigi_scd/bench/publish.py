"""Everything a reader of an output folder sees, rewritten from what is on disk (``aigi-scd card DIR``, and the end of
``aigi-scd compress``): the benchmark tables and plots, ``benchmark/report.html``, and the card — for a build the
dataset card, the datasheet and the pictures; for a folder of compressed image sets its own card."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.bench.benchmark import recorded_order, write_benchmark
from aigi_scd.bench.report import DEFAULT_REPORT_IMAGES, write_report
from aigi_scd.dataset.compressed_card import write_compress_card
from aigi_scd.dataset.shards import MANIFEST
from aigi_scd.dataset.swap import finish_pending_swap
from aigi_scd.errors import ConfigError, OutputDirError

COMPRESS_MANIFEST = "compress.json"


@dataclass
class Published:
    out: Path
    paths: list[Path] = field(default_factory=list)
    benchmark: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)  # what a build folder lacks of what build.json says it made


def has_units(out: Path) -> bool:
    return any((Path(out) / "compressed").glob("*/*.stats.json"))


def publish(
    out: Path,
    benchmark: dict[str, Any] | None = None,
    report_images: int = DEFAULT_REPORT_IMAGES,
    progress: bool = False,
) -> Published:
    """Rewrite the benchmark files (unless `benchmark`, from a run that just wrote them, is given), the report and
    the card of `out`. Set-level scores (FID/KID) come from their cache; nothing is re-encoded or re-scored."""
    from aigi_scd.dataset.card import DATASHEET, write_dataset_card

    out = Path(out)
    if report_images < 1:
        raise ConfigError(f"--report-images must be at least 1, got {report_images}")
    is_build = (out / MANIFEST).is_file()
    if not is_build and not (out / COMPRESS_MANIFEST).is_file():
        raise OutputDirError(
            f"{out} is neither an aigi-scd build ({MANIFEST}) nor a `compress` output ({COMPRESS_MANIFEST}); "
            "give the --out of `aigi-scd build` or `aigi-scd compress`"
        )
    if is_build:
        finish_pending_swap(out)  # an interrupted `aigi-scd filter` swap: describe the folder as it will be
    result = Published(out)
    if benchmark is None and has_units(out):
        benchmark = write_benchmark(out, **recorded_order(out), progress=progress)
    if benchmark is not None:
        result.benchmark = benchmark
        result.paths += benchmark["paths"]
        result.paths.append(write_report(out, benchmark, report_images))
    if is_build:
        from aigi_scd.dataset.contents import shortfall_fix, shortfalls

        result.warnings = [f"{line}; {shortfall_fix(out)}" for line in shortfalls(out)]
        result.paths += [write_dataset_card(out), out / DATASHEET]
        result.paths += sorted((out / "pictures").glob("*.png"))
    else:
        result.paths.append(write_compress_card(out))
    return result
