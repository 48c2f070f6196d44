"""`aigi-scd verify` on the compressed sets and benchmark tables of an output folder, and their repairs.

Every unit's stored bitstreams against the bytes, bpp and sha256 its rows record; its keys against its source
as it is now (:mod:`aigi_scd.bench.stale`); and ``benchmark/results.parquet`` against the units it must be
derived from. A unit that is damaged or no longer matches its source is removed by the repair (``compress``
redoes it); the tables are rewritten from the units that remain.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from pathlib import Path

from aigi_scd.bench.journal import PARTIAL_SUFFIX, journal_counts
from aigi_scd.bench.results import benchmark_dir
from aigi_scd.bench.stale import COMPRESS_MANIFEST, current_sources, unit_issues
from aigi_scd.dataset.commands import command_for_folder
from aigi_scd.dataset.files import read_json
from aigi_scd.dataset.integrity import Finding, unit_problems

ORDER_UNIT = 20
ORDER_TABLES = 30
ROW_ID = ["config", "unit", "key"]  # one results row per (codec and target, unit, image)


def compress_command(out: Path) -> str:
    path = Path(out) / COMPRESS_MANIFEST
    try:
        command = read_json(path).get("command") if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        command = None
    if not command:
        return f"the `aigi-scd compress` command that made them (with the same codecs and targets), for {out}"
    return command_for_folder(command, Path(out))


def check_compressed(out: Path, deep: bool = True, pending: Iterable[str] = ()) -> tuple[list[Finding], list[str]]:
    """(problems, notes) of everything under ``OUT/compressed`` and ``OUT/benchmark``; `pending` names the
    build's planned shards not made yet (their units wait for them)."""
    out = Path(out)
    folder = out / "compressed"
    if not folder.is_dir():
        return [], []
    current = current_sources(out, pending=pending)
    notes = [f"units of {name} were not checked against it: {why}" for name, why in current.unknown.items()]
    waiting = [p for p in sorted(folder.glob("*/*.stats.json")) if _unit_name(p) in current.pending]
    if waiting:
        names = sorted({_unit_name(p) for p in waiting})
        notes.append(
            f"units of {', '.join(names)} wait for their source shards to be made again; then bring them back "
            f"into the tables with: {compress_command(out)}"
        )
    partial = sorted(p for p in folder.glob(f"*/*{PARTIAL_SUFFIX}") if p.is_dir())
    if partial:
        kept = sum(journal_counts(p) for p in partial)
        notes.append(
            f"{len(partial)} unfinished units hold {kept} finished images (in *{PARTIAL_SUFFIX}/ folders, in no "
            f"table or config); the same compress command goes on from them: {compress_command(out)}"
        )
    issues = unit_issues(out, current)
    command = compress_command(out)
    findings = []
    bad: set[Path] = set()
    for stats in sorted(folder.glob("*/*.stats.json")):
        problems = [issues[stats]] if stats in issues else unit_problems(stats, deep)
        if problems:
            bad.add(stats)
            label = stats.relative_to(out).as_posix().removesuffix(".stats.json")
            findings.append(
                Finding(
                    stats,
                    f"{label}: "
                    + "; ".join(problems[:2])
                    + (f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""),
                    repair="remove the unit (its tar and stats file), so compress makes it again",
                    regenerate=command,
                    action=lambda stats=stats: remove_unit(out, stats),
                    order=ORDER_UNIT,
                )
            )
    for tar in sorted(folder.glob("*/*.tar")):
        if not tar.with_name(tar.name.removesuffix(".tar") + ".stats.json").exists():
            findings.append(
                Finding(
                    tar,
                    f"{tar.relative_to(out).as_posix()}: a tar without its stats file (an interrupted unit), yet its "
                    "config loads it",
                    repair="remove it, so compress makes the unit again",
                    regenerate=command,
                    action=lambda tar=tar: _remove(tar, out),
                    order=ORDER_UNIT,
                )
            )
    stale_tables = _tables_problem(out, bad | set(issues) | set(waiting))  # the tables hold neither
    if stale_tables:
        findings.append(
            Finding(
                benchmark_dir(out) / "results.parquet",
                stale_tables,
                repair="rewrite the benchmark tables and plots from the units that remain",
                action=lambda: rewrite_tables(out),
                order=ORDER_TABLES,
            )
        )
    return findings, notes


def _unit_name(stats: Path) -> str:
    return stats.name.removesuffix(".stats.json")


def _tables_problem(out: Path, leave_out: set[Path]) -> str | None:
    """Why the benchmark tables are not what the (good, current) units give — every column of results.parquet,
    and summary.csv, summary.md and bd_rate.csv rebuilt from them — or None when they are."""
    from aigi_scd.bench.benchmark import derive_benchmark, recorded_order

    folder = benchmark_dir(out)
    path = folder / "results.parquet"
    expected = derive_benchmark(out, **recorded_order(out), progress=False, leave_out=leave_out)
    if not path.is_file():
        return (
            f"{path}: missing, though there are {len(expected['results'])} result rows"
            if len(expected["results"])
            else None
        )
    problems = [_results_difference(path, expected["results"])]
    for name, text in expected["tables"].items():
        problems.append(_text_difference(folder / name, text))
    problems = [p for p in problems if p]
    return "; ".join(problems) if problems else None


def _results_difference(path: Path, expected) -> str | None:
    """Where results.parquet differs from the rows of the units: its rows, or the first column that differs."""
    import pandas as pd

    try:
        table = pd.read_parquet(path)
    except Exception as exc:  # any unreadable parquet is the finding
        return f"{path}: unreadable ({type(exc).__name__}: {exc})"

    def rows(frame: pd.DataFrame) -> set[tuple]:
        records = frame.reindex(columns=ROW_ID).to_dict("records")
        return {tuple(_plain(record[c]) for c in ROW_ID) for record in records}

    if rows(table) != rows(expected):
        return f"{path}: its rows are not those of the finished units that match their sources"
    expected = pd.read_parquet(io.BytesIO(expected.to_parquet(index=False)))  # as written: the same dtypes
    missing = [c for c in expected.columns if c not in table.columns]
    extra = [c for c in table.columns if c not in expected.columns]
    if missing or extra:
        first = f"missing {missing[0]}" if missing else f"extra {extra[0]}"
        return f"{path}: its columns differ from the units' ({first})"
    table = table.set_index(ROW_ID).sort_index()
    expected = expected.set_index(ROW_ID).sort_index()
    for column in expected.columns:
        mine, theirs = table[column].tolist(), expected[column].tolist()
        differ = [i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if _plain(a) != _plain(b)]
        if differ:
            where = expected.index[differ[0]]
            return (
                f"{path}: column {column} differs from the units in {len(differ)} of {len(theirs)} rows (first: "
                f"{where[0]} {where[2]}: {mine[differ[0]]!r} where its unit says {theirs[differ[0]]!r})"
            )
    return None


def _text_difference(path: Path, expected: bytes) -> str | None:
    """Where a derived text table differs from the one the units give (the first line that differs)."""
    if not path.is_file():
        return f"{path}: missing"
    found = path.read_bytes()
    if found == expected:
        return None
    mine, theirs = found.decode("utf-8", "replace").splitlines(), expected.decode("utf-8").splitlines()
    line = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), min(len(mine), len(theirs)))
    return f"{path}: not the table the results give (line {line + 1} differs)"


def _plain(value):
    """A cell as compared: NaN and None alike, numpy scalars as Python ones."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def remove_unit(out: Path, stats: Path) -> str:
    tar = stats.with_name(stats.name.removesuffix(".stats.json") + ".tar")
    stats.unlink(missing_ok=True)  # the done-marker first: a unit with a tar and no stats is unfinished
    tar.unlink(missing_ok=True)
    return f"removed unit {stats.relative_to(out).as_posix().removesuffix('.stats.json')} (compress makes it again)"


def _remove(path: Path, out: Path) -> str:
    path.unlink(missing_ok=True)
    return f"removed {path.relative_to(out).as_posix()}"


def rewrite_tables(out: Path) -> str:
    """Rewrite every file of ``OUT/benchmark`` from the units (FID/KID kept from their cache where current)."""
    from aigi_scd.bench.benchmark import recorded_order, write_benchmark

    result = write_benchmark(out, **recorded_order(out), progress=False)
    return f"rewrote the benchmark tables ({len(result['results'])} rows)"
