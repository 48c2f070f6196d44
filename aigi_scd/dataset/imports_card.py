"""Dataset-card parts for imported sources (``aigi-scd import``): the image members each source's config
declares (an imported original keeps its format, so a source may hold ``jpg`` or ``webp`` rather than
``png``), and the section that says where each source came from and which sources are lossy.

Everything is read from build.json's ``imports`` and the sources' shard stats files.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from aigi_scd.dataset.shards import IMAGE_FIELDS, finished_shards, imported_sources


def source_image_fields(out: Path, manifest: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Source → the image members its kept samples hold (generated models: ``png``)."""
    fields = {model: ("png",) for model in manifest.get("models") or []}
    for source in imported_sources(manifest):
        found: set[str] = set()
        for stats in finished_shards(out, source).values():
            found.update(name for name, n in (stats.get("formats") or {}).items() if n)
        fields[source] = tuple(name for name in IMAGE_FIELDS if name in found) or ("png",)
    return fields


def _totals(out: Path, source: str) -> dict[str, Any]:
    totals: dict[str, Any] = {"kept": 0, "rejected": 0, "duplicates": 0, "bad_rows": 0, "lossy": 0}
    formats, generators = Counter(), Counter()
    for stats in finished_shards(out, source).values():
        totals["kept"] += stats.get("kept") or 0
        totals["rejected"] += stats.get("rejected") or 0
        totals["duplicates"] += len(stats.get("duplicates") or [])
        totals["bad_rows"] += len(stats.get("bad_rows") or [])
        totals["lossy"] += stats.get("lossy") or 0
        formats.update(stats.get("formats") or {})
        generators.update(stats.get("generators") or {})
    totals["formats"], totals["generators"] = formats, generators
    return totals


def lossy_sources(out: Path, manifest: dict[str, Any]) -> list[str]:
    """Imported sources with at least one kept sample whose original is in a lossy format (JPEG, lossy WebP)."""
    return [s for s in imported_sources(manifest) if _totals(out, s)["lossy"]]


def imports_section(out: Path, manifest: dict[str, Any]) -> list[str]:
    """Markdown: one row per imported source, and which of them hold lossy originals."""
    records = manifest.get("imports") or []
    if not records:
        return []
    rows = []
    for record in records:
        name = record["source"]
        totals = _totals(out, name)
        judged = totals["kept"] + totals["rejected"]
        passed = f"{100 * totals['kept'] / judged:.1f}%" if judged else "–"
        generators = ", ".join(f"{g} ({n})" for g, n in totals["generators"].most_common()) or "–"
        formats = ", ".join(f"{f} ({n})" for f, n in sorted(totals["formats"].items())) or "–"
        inputs = ", ".join(f"`{e['input']}` ({e['form']})" for e in record.get("inputs") or [])
        preset = (record.get("preset") or {}).get("name") or record["filters"]["preset"]
        lossy = f"{totals['lossy']} of {totals['kept']}" if totals["kept"] else "–"
        rows.append(
            f"| {name} | {generators} | {inputs} | {formats} | {lossy} | {totals['kept']} | {totals['rejected']} "
            f"| {passed} | {totals['duplicates']} | {totals['bad_rows']} | `{preset}` |"
        )
    lossy = lossy_sources(out, manifest)
    if lossy:
        verdict = (
            f"Lossy sources: {', '.join(f'`{s}`' for s in lossy)}. Their originals (JPEG or lossy WebP, as the "
            "generator delivered them) are stored byte for byte and are the reference a codec is scored against: "
            "they already carry the artefacts of one lossy compression."
        )
    else:
        verdict = "No imported source holds lossy originals."
    return [
        "## Imported sources",
        "",
        "Images made elsewhere (closed or remote generators, public collections) and added with `aigi-scd import`, "
        "each as its own config. Each sample's `json.imported` names its generator (as the importer named it), "
        "its input and row, the original file's name, sha256 and format, whether that format is lossy, and how "
        "the stored image differs from the original (`converted`; null: byte for byte). The same image (by the "
        "sha256 of its file) is imported once; later copies count as duplicates.",
        "",
        "| source | generators (kept) | inputs | stored as (kept) | lossy | kept | rejected | pass rate "
        "| duplicates | bad rows skipped | filters |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        verdict,
        "",
    ]


def import_commands(manifest: dict[str, Any]) -> list[str]:
    """The commands that imported each input, in order."""
    return [e["command"] for r in manifest.get("imports") or [] for e in r.get("inputs") or [] if e.get("command")]
