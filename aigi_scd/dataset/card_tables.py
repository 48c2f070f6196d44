"""Markdown tables of a build's contents, shared by the dataset card (README.md) and the datasheet (DATASHEET.md):
settings and counts per source, categories, styles, sizes, filters (thresholds, pass rates, score spread) and
library versions. Every number is counted from the shards and their stats files (:mod:`.contents`)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from aigi_scd.dataset.contents import BuildContents, SampleFacts, SourceContents
from aigi_scd.dataset.pictures import thresholds

NONE = "–"


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A markdown table (``|`` in cells escaped); an empty table is one row of dashes."""
    rows = rows or [[NONE] * len(headers)]
    cells = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(row) + " |" for row in cells]


def number(value: float | None) -> str:
    """A score at a precision that suits its size."""
    if value is None:
        return NONE
    magnitude = abs(value)
    return f"{value:.1f}" if magnitude >= 100 else f"{value:.3f}" if magnitude >= 1 else f"{value:.4f}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else NONE


def distinct(values: Iterable[Any], show: Callable[[Any], str] = str) -> str:
    """The distinct values, in sorted order, joined ("–" when there is none)."""
    found = sorted({v for v in values if v is not None}, key=lambda v: (str(type(v)), v))
    return ", ".join(show(v) for v in found) or NONE


def _repo(source: SourceContents) -> str:
    card = source.card or {}
    if not card.get("repo"):
        return NONE
    return f"[`{card['repo']}`]({card['homepage']})" if card.get("homepage") else f"`{card['repo']}`"


def settings_table(contents: BuildContents) -> list[str]:
    """Per source: where the model came from, its licence and the settings its images were generated with."""
    rows = []
    for source in contents.sources:
        samples = source.samples
        rows.append(
            [
                source.name,
                _repo(source),
                distinct(source.licences()) if source.licences() else "not recorded",
                distinct(s.pipeline_class for s in samples),
                distinct(s.scheduler_class for s in samples),
                distinct(s.steps for s in samples),
                distinct([s.guidance for s in samples], lambda g: f"{g:g}"),
                distinct(s.size for s in samples),
                distinct(s.dtype for s in samples),
                distinct(s.device for s in samples),
            ]
        )
    headers = ["source", "repo", "licence", "pipeline", "scheduler", "steps", "guidance", "size", "dtype", "device"]
    return table(headers, rows)


def counts_table(contents: BuildContents) -> list[str]:
    """Per source: images generated, kept and rejected, the share kept, prompts longer than the text encoder reads,
    and the generation speed."""
    rows = []
    for source in contents.sources:
        planned, seconds = source.planned, source.generation_seconds
        rows.append(
            [
                source.name,
                planned,
                source.total("kept"),
                source.total("rejected"),
                percent(source.total("kept"), planned),
                len({s.prompt_id for s in source.kept}),
                sum(1 for s in source.samples if s.truncated),
                f"{planned / seconds:.2f}" if seconds else NONE,
            ]
        )
    headers = ["source", "generated", "kept", "rejected", "kept %", "prompts kept", "prompts truncated", "images/s"]
    return table(headers, rows)


def breakdown_table(contents: BuildContents, label: str, value: Callable[[SampleFacts], str | None]) -> list[str]:
    """Kept images per value of `value` (category, style, size) and source, with a total column."""
    counts = {s.name: Counter(value(f) or "(none)" for f in s.kept) for s in contents.sources}
    total = sum(counts.values(), Counter())
    rows = [[v, *(counts[s.name][v] for s in contents.sources), total[v]] for v in sorted(total)]
    return table([label, *(s.name for s in contents.sources), "all"], rows)


def _filter_counts(source: SourceContents) -> tuple[list[str], dict[str, int], dict[str, int], dict[str, int]]:
    order: list[str] = []
    checked: dict[str, int] = {}
    passed: dict[str, int] = {}
    rejected: dict[str, int] = {}
    for stats in source.stats:
        order += [f for f in stats.get("filters") or [] if f not in order]
        for name, n in (stats.get("rejects_by_filter") or {}).items():
            rejected[name] = rejected.get(name, 0) + n
        for name, counts in (stats.get("filter_counts") or {}).items():
            checked[name] = checked.get(name, 0) + counts["checked"]
            passed[name] = passed.get(name, 0) + counts["passed"]
    order += sorted(f for f in rejected if f not in order)
    return order, checked, passed, rejected


def filter_table(contents: BuildContents) -> list[str]:
    """Per source and filter (in chain order): its thresholds, how many images it judged, passed and rejected, its
    pass rate, and the spread of its scores over every image it scored (kept or rejected)."""
    rows = []
    for source in contents.sources:
        step_of = {step.get("name"): step for step in contents.steps_of(source.name)}
        order, checked, passed, rejected = _filter_counts(source)
        scores: dict[str, list[float]] = {}
        for sample in source.samples:
            for result in sample.filters:
                if result.score is not None:
                    scores.setdefault(result.name, []).append(result.score)
        for name in order:
            bounds = ", ".join(f"{k} {v:g}" for k, v in thresholds(step_of.get(name, {}))) or NONE
            values = scores.get(name, [])
            n = checked.get(name)
            rows.append(
                [
                    source.name,
                    name,
                    bounds,
                    NONE if n is None else n,
                    NONE if n is None else passed.get(name, 0),
                    rejected.get(name, 0),
                    percent(passed.get(name, 0), n or 0),
                    number(min(values)) if values else NONE,
                    number(statistics.median(values)) if values else NONE,
                    number(max(values)) if values else NONE,
                ]
            )
    headers = ["source", "filter", "threshold", "checked", "passed", "rejected", "pass rate", "min", "median", "max"]
    return table(headers, rows)


def preset_lines(contents: BuildContents) -> list[str]:
    """The filter preset by name and description, and each step with its settings; imported sources name theirs."""
    preset = contents.manifest.get("preset") or {}
    name = preset.get("name") or ((contents.manifest.get("config") or {}).get("filters") or {}).get("preset")
    lines = [f"Filter preset `{name}`: {preset.get('description') or ''}".rstrip(), ""] if name else []
    for step in contents.steps:
        settings = ", ".join(f"{k}={v}" for k, v in step.items() if k not in ("type", "name") and v is not None)
        label = step["name"] if step.get("name") == step.get("type") else f"{step.get('name')} ({step.get('type')})"
        lines.append(f"- `{label}`" + (f": {settings}" if settings else ""))
    for record in contents.manifest.get("imports") or []:
        own = (record.get("preset") or {}).get("name") or (record.get("filters") or {}).get("preset")
        lines += ["", f"Imported source `{record.get('source')}`: filter preset `{own}` (its thresholds are below)."]
    return lines


def versions_table(contents: BuildContents) -> list[str]:
    """The library versions the kept images were generated with, and how many images each made."""
    counts = Counter(pair for source in contents.sources for s in source.kept for pair in s.versions)
    rows = [[library, f"`{version}`", n] for (library, version), n in sorted(counts.items())]
    return table(["library", "version", "images"], rows)
