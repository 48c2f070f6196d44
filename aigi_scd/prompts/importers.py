"""Prompt files users bring: PartiPrompts TSV, DrawBench CSV, GenEval metadata JSONL, PromptSpec JSONL, plain text.

Each importer keeps whatever structure its source has: a category column, PartiPrompts' challenge and
note, GenEval's tag and per-object class, count, color and position. A malformed line is an error that
names the file and line; with ``skip_bad_lines`` it is skipped and reported instead.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.errors import ConfigError
from aigi_scd.prompts.spec import PromptObject, PromptSource, PromptSpec, spec_from_mapping

# File extension → format name, for messages and the build summary.
FORMATS = {
    ".tsv": "PartiPrompts TSV",
    ".csv": "DrawBench CSV",
    ".jsonl": "JSONL (GenEval metadata or PromptSpec)",
    ".txt": "plain text",
}
PROMPT_COLUMNS = ("prompt", "prompts", "text", "caption")
SKIP_HINT = "fix the line, or pass --skip-bad-lines to load the rest without it"


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read as a prompt, and why."""

    line: int
    reason: str


@dataclass
class ImportedFile:
    """The prompts read from one file, in file order (duplicates kept), and the lines skipped."""

    path: Path
    format: str
    prompts: list[PromptSpec] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)


class _Lines:
    """The file's lines decoded as UTF-8, each numbered from 1; undecodable lines become bad lines."""

    def __init__(self, path: Path, skip_bad_lines: bool):
        self.path = path
        self.skip = skip_bad_lines
        self.bad: list[BadLine] = []
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"prompt file not found: {path} (looked for {path.resolve()})") from None
        except IsADirectoryError:
            raise ConfigError(f"{path} is a folder; give a prompt file (.tsv, .csv, .jsonl, .txt or .yaml)") from None
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # a UTF-8 byte order mark, as spreadsheet programs write
        self.lines: list[str] = []
        for number, raw in enumerate(data.split(b"\n"), start=1):
            try:
                self.lines.append(raw.decode("utf-8").rstrip("\r"))
            except UnicodeDecodeError as exc:
                self.reject(
                    number,
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at column {exc.start + 1}); save the file as UTF-8",
                )
                self.lines.append("")  # keeps the numbering of later lines
        if self.lines and self.lines[-1] == "":
            self.lines.pop()

    def reject(self, line: int, reason: str) -> None:
        if not self.skip:
            raise ConfigError(f"{self.path}:{line}: {reason} ({SKIP_HINT})")
        self.bad.append(BadLine(line, reason))

    def numbered(self):
        return enumerate(self.lines, start=1)


def _source(path: Path, line: int) -> PromptSource:
    return PromptSource(suite=path.name, line=line)


def read_text_file(path: Path, lines: _Lines) -> list[PromptSpec]:
    """One prompt per line; blank lines and lines starting with '#' are skipped."""
    prompts = []
    for number, line in lines.numbered():
        text = line.strip()
        if text and not text.startswith("#"):
            prompts.append(PromptSpec(text=text, source=_source(path, number)))
    return prompts


def read_table(path: Path, lines: _Lines, delimiter: str) -> list[PromptSpec]:
    """A header row, then one prompt per row. The prompt column is Prompt/Prompts/Text/Caption (any case),
    Category becomes the category, every other column goes into `extra` under its lower-cased name.

    TSV is read without quoting (PartiPrompts' prompts contain bare quotes); CSV with standard quoting.
    """
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO("\n".join(lines.lines)), delimiter=delimiter, quoting=quoting, strict=True)
    header: list[str] | None = None
    header_line = 0
    prompts: list[PromptSpec] = []
    last = 0
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last = reader.line_num
            reason = f"malformed {'TSV' if delimiter == chr(9) else 'CSV'} row: {exc}"
            if "unexpected end of data" in str(exc):
                reason += f" (a quote opened here is never closed: lines {start}-{last} were read as one field)"
            lines.reject(start, reason)
            continue
        last = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            header_line = start
            lowered = [h.lower() for h in header]
            prompt_col = next((lowered.index(c) for c in PROMPT_COLUMNS if c in lowered), None)
            if prompt_col is None:
                raise ConfigError(
                    f"{path}:{header_line}: no prompt column in the header ({', '.join(header) or 'empty'}); "
                    "the first row must name the columns: PartiPrompts TSV has Prompt, Category, Challenge, Note; "
                    "DrawBench CSV has Prompts, Category"
                )
            category_col = lowered.index("category") if "category" in lowered else None
            continue
        if len(row) != len(header):
            lines.reject(start, f"expected {len(header)} fields ({', '.join(header)}), found {len(row)}: {_clip(row)}")
            continue
        text = row[prompt_col].strip()
        if not text:
            lines.reject(start, f"empty prompt in column {header[prompt_col]!r}")
            continue
        extra = {
            header[i].lower(): cell.strip()
            for i, cell in enumerate(row)
            if i not in (prompt_col, category_col) and header[i]
        }
        category = row[category_col].strip() if category_col is not None else ""
        prompts.append(PromptSpec(text=text, category=category or None, source=_source(path, start), extra=extra))
    if header is None:
        raise ConfigError(f"{path}: the file is empty; it needs a header row and one prompt per row")
    return prompts


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _geneval_object(entry: Any, include: list[Any]) -> PromptObject:
    if not isinstance(entry, dict) or not isinstance(entry.get("class"), str) or not entry["class"].strip():
        raise ValueError(f"each 'include' entry needs a 'class' name, got {_clip(entry)}")
    count = entry.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"'count' of {entry['class']!r} must be a non-negative integer, got {count!r}")
    parts = []
    if entry.get("color"):
        parts.append(str(entry["color"]))
    parts.append(f"count {count}")
    position = entry.get("position")
    if position:
        if (
            not isinstance(position, list)
            or len(position) != 2
            or not isinstance(position[1], int)
            or not 0 <= position[1] < len(include)
        ):
            raise ValueError(f"'position' must be [relation, index of another include entry], got {position!r}")
        parts.append(f"{position[0]} {include[position[1]].get('class')}")
    return PromptObject(name=entry["class"].strip(), detail=", ".join(parts))


def _geneval_spec(record: dict[str, Any], path: Path, line: int) -> PromptSpec:
    text = record["prompt"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"'prompt' must be a non-empty string, got {_clip(text)}")
    include = record.get("include") or []
    if not isinstance(include, list):
        raise ValueError(f"'include' must be a list of objects, got {_clip(include)}")
    objects = tuple(_geneval_object(entry, include) for entry in include)
    tag = record.get("tag")
    extra = {k: v for k, v in record.items() if k != "prompt"}
    return PromptSpec(
        text=text.strip(),
        category=tag if isinstance(tag, str) else None,
        objects=objects,
        source=_source(path, line),
        extra=extra,
    )


def read_jsonl(path: Path, lines: _Lines) -> tuple[list[PromptSpec], str]:
    """GenEval metadata lines ({"tag", "include", "prompt"}) or PromptSpec lines ({"text", ...}), one per line."""
    prompts = []
    kinds = set()
    for number, line in lines.numbered():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            lines.reject(number, f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(record, dict):
            lines.reject(number, f"expected a JSON object, got {_clip(record)}")
            continue
        try:
            if "text" in record:
                spec = spec_from_mapping(record, _source(path, number), f"{path}:{number}", ignore=("id", "source"))
                kinds.add("PromptSpec JSONL")
            elif "prompt" in record:
                spec = _geneval_spec(record, path, number)
                kinds.add("GenEval JSONL")
            else:
                lines.reject(
                    number,
                    f"no 'text' (PromptSpec line) or 'prompt' (GenEval line) key; keys: {', '.join(record) or 'none'}",
                )
                continue
        except ValueError as exc:  # ConfigError from spec_from_mapping names the line itself
            lines.reject(number, str(exc))
            continue
        except ConfigError as exc:
            lines.reject(number, str(exc).split(": ", 1)[-1])
            continue
        prompts.append(spec)
    return prompts, " + ".join(sorted(kinds)) or "JSONL"


def read_prompt_file(path: Path, skip_bad_lines: bool = False) -> ImportedFile:
    """Read a prompt file by its extension: .tsv, .csv, .jsonl or .txt."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(
            f"{path}: unknown prompt file type {suffix or '(no extension)'!r}; use .tsv (PartiPrompts), "
            ".csv (DrawBench), .jsonl (GenEval metadata or PromptSpec lines), .txt (one prompt per line) "
            "or .yaml (a prompt suite)"
        )
    lines = _Lines(path, skip_bad_lines)
    fmt = FORMATS[suffix]
    if suffix == ".txt":
        prompts = read_text_file(path, lines)
    elif suffix == ".jsonl":
        prompts, fmt = read_jsonl(path, lines)
    else:
        prompts = read_table(path, lines, "\t" if suffix == ".tsv" else ",")
    if not prompts:
        skipped = f" ({len(lines.bad)} bad lines skipped)" if lines.bad else ""
        raise ConfigError(f"{path}: the file holds no prompts{skipped}")
    return ImportedFile(path=path, format=fmt, prompts=prompts, bad_lines=lines.bad)
