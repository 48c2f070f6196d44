"""What ``aigi-scd import`` reads: every input form as one stream of rows, each with its own fields.

Forms (found from the path): a folder of images with a sidecar prompt each (``x.png`` + ``x.txt`` or
``x.json``); a manifest — ``.csv``, ``.jsonl``, ``.parquet`` or ``.json`` (a list of rows, or DiffusionDB's
per-part ``{file name: {p, se, c, st, sa}}``) — whose rows name an image file or hold its bytes; a Hugging
Face dataset on disk (``save_to_disk``, or an imagefolder with ``metadata.jsonl``/``.csv``/``.parquet``; see
:mod:`aigi_scd.build.import_hf`). Rows are read lazily and numbered (``ordinal``, from 0) in a fixed order,
which is what a resumed import skips by. Mapping a row's fields to a sample is :mod:`aigi_scd.build.import_rows`.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.errors import ConfigError
from aigi_scd.prompts.sidecar import IMAGE_SUFFIXES, image_files, read_sidecar

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
CSV_DELIMITERS = (",", ";", "\t", "|")
HF_METADATA = ("metadata.jsonl", "metadata.csv", "metadata.parquet")  # an imagefolder's metadata file
FORMS = "a folder of images with x.txt/x.json prompts, a .csv/.jsonl/.json/.parquet manifest, or a saved dataset"


@dataclass
class RawRow:
    """One row of an input before it is judged: its fields as the source has them."""

    ordinal: int  # position in the input, from 0: the unit a resumed import skips by
    where: str  # how messages name it: "metadata.parquet row 12", "mj/cat.png"
    row: int | None  # 1-based row or line number in a manifest or dataset; None in a folder
    fields: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the image file, when the form knows it (a folder's images)
    name: str | None = None  # the original file name, when the form knows it (folders, DiffusionDB part files)
    problem: str | None = None  # what is wrong before the image is read (unparsable line, no prompt)


@dataclass
class ImportInput:
    """An input, opened: its form, a fingerprint of its content, and its rows (`wanted(ordinal)` picks them)."""

    path: Path
    form: str  # folder | csv | jsonl | json | parquet | hf-dataset | imagefolder
    fingerprint: str
    count: int
    read: Callable[[Callable[[int], bool]], Iterator[RawRow]]
    base: Path  # relative image paths are found from here (--images-dir, or the manifest's folder)
    columns: list[str] = field(default_factory=list)  # field names of the first row: what a dialect is told by

    def rows(self, wanted: Callable[[int], bool] = lambda _: True) -> Iterator[RawRow]:
        return self.read(wanted)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_input(folder: Path) -> ImportInput:
    """Every image under `folder` (recursively, sorted by relative path) with the prompt of its sidecar."""
    images = image_files(folder)
    if not images:
        raise ConfigError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder or below; {FORMS}")
    digest = hashlib.sha256()
    for path in images:
        for part in (path, path.with_suffix(".json"), path.with_suffix(".txt")):
            if part.is_file():
                stat = part.stat()
                digest.update(f"{part.relative_to(folder).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())

    def read(wanted: Callable[[int], bool]) -> Iterator[RawRow]:
        for ordinal, path in enumerate(images):
            if not wanted(ordinal):
                continue
            name = path.relative_to(folder).as_posix()
            row = RawRow(ordinal, name, None, path=path, name=name)
            try:
                fields = read_sidecar(path)
            except ConfigError as exc:
                row.problem = str(exc)
            else:
                if fields is None:
                    row.problem = (
                        f"no prompt: put it in {path.with_suffix('.txt').name} or {path.with_suffix('.json').name}"
                    )
                else:
                    row.fields = fields
            yield row

    return ImportInput(folder, "folder", digest.hexdigest(), len(images), read, folder)


def _jsonl_rows(path: Path, wanted: Callable[[int], bool]) -> Iterator[RawRow]:
    ordinal = 0
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if wanted(ordinal):
                row = RawRow(ordinal, f"{path.name} line {number}", number)
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    row.problem = f"not valid JSON ({exc.msg})"
                else:
                    if isinstance(value, dict):
                        row.fields = value
                    else:
                        row.problem = f"a line must be a JSON object, got {type(value).__name__}"
                yield row
            ordinal += 1


def _csv_rows(path: Path, wanted: Callable[[int], bool], delimiter: str = ",") -> Iterator[RawRow]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        for ordinal, values in enumerate(csv.DictReader(f, delimiter=delimiter, strict=True)):
            if wanted(ordinal):
                number = ordinal + 1
                fields = {k: v for k, v in values.items() if k is not None}
                row = RawRow(ordinal, f"{path.name} row {number}", number, fields)
                if None in values:
                    row.problem = "more values than the header has columns"
                yield row


def _json_rows(path: Path, data: Any, wanted: Callable[[int], bool]) -> Iterator[RawRow]:
    if isinstance(data, list):
        for ordinal, value in enumerate(data):
            if wanted(ordinal):
                row = RawRow(ordinal, f"{path.name} item {ordinal + 1}", ordinal + 1)
                if isinstance(value, dict):
                    row.fields = value
                else:
                    row.problem = f"an item must be a JSON object, got {type(value).__name__}"
                yield row
        return
    # DiffusionDB's part files: {"<image file name>": {"p": prompt, "se": seed, "c": cfg, "st": steps, "sa": sampler}}
    for ordinal, (name, value) in enumerate(data.items()):
        if wanted(ordinal):
            row = RawRow(ordinal, f"{path.name} entry {name}", ordinal + 1, name=name)
            if isinstance(value, dict):
                row.fields = value
            else:
                row.problem = f"the entry must be a JSON object, got {type(value).__name__}"
            yield row


def _check_json_object(path: Path, data: dict[str, Any]) -> None:
    """A .json object is read as DiffusionDB's per-part file, {file name: {p, se, c, st, sa}}; any other object
    (one row, or rows under a key) is refused naming the file's shape, not blamed on its entries."""
    others = [key for key, value in data.items() if not isinstance(value, dict)]
    if not others:
        return
    shape = 'a list of row objects, [{"path": ..., "prompt": ...}, ...]'
    lists = [key for key in others if isinstance(data[key], list)]
    if lists:
        hint = f"its {lists[0]!r} holds a list: save that list alone as the file (or as a .jsonl, one row a line)"
    elif {"prompt", "path", "file_name", "image"} & {str(k).lower() for k in data}:
        hint = "it looks like a single row: put it in a list, [{...}]"
    else:
        hint = f"its {others[0]!r} is a {type(data[others[0]]).__name__}, not an entry of fields"
    raise ConfigError(
        f"{path}: a .json manifest is {shape} (or DiffusionDB's {{file name: {{p, se, c, st, sa}}}}), but this one "
        f"is an object with {len(data)} {'key' if len(data) == 1 else 'keys'}; {hint}"
    )


def _parquet_rows(path: Path, wanted: Callable[[int], bool]) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    ordinal = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
        for values in batch.to_pylist():
            if wanted(ordinal):
                yield RawRow(ordinal, f"{path.name} row {ordinal + 1}", ordinal + 1, values)
            ordinal += 1


def manifest_input(path: Path, images_dir: Path | None) -> ImportInput:
    """A .csv, .jsonl, .json or .parquet file of rows, each naming an image (or holding its bytes) and its prompt."""
    suffix = path.suffix.lower()
    base = images_dir or path.parent
    fingerprint = _digest(path)
    columns: list[str] = []
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a file that is not parquet
            raise ConfigError(f"{path}: not a readable parquet file ({exc})") from None
        count, columns = meta.metadata.num_rows, list(meta.schema_arrow.names)
        return ImportInput(path, "parquet", fingerprint, count, lambda w: _parquet_rows(path, w), base, columns)
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc}); a .json manifest is a list of row objects") from None
        if not isinstance(data, (list, dict)):
            raise ConfigError(f"{path}: a .json manifest is a list of row objects or a {{file name: fields}} object")
        if isinstance(data, dict):
            _check_json_object(path, data)
        first = data[0] if isinstance(data, list) and data else next(iter(data.values()), {}) if data else {}
        columns = list(first) if isinstance(first, dict) else []
        form = "json" if isinstance(data, list) else "diffusiondb-part"
        return ImportInput(path, form, fingerprint, len(data), lambda w: _json_rows(path, data, w), base, columns)
    if suffix == ".jsonl":
        with open(path, encoding="utf-8-sig") as f:
            lines = [line for line in f if line.strip()]
        count = len(lines)
        try:
            first = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            first = {}
        columns = list(first) if isinstance(first, dict) else []
        return ImportInput(path, "jsonl", fingerprint, count, lambda w: _jsonl_rows(path, w), base, columns)
    delimiter, columns, count = _check_csv(path)
    return ImportInput(path, "csv", fingerprint, count, lambda w: _csv_rows(path, w, delimiter), base, columns)


def _csv_delimiter(path: Path) -> str:
    """The delimiter of a CSV, told by its header line: a comma, else the one of ; tab | that splits the header
    into the most columns (spreadsheets in many locales write semicolons)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        header = f.readline()
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return "," if counts[","] > 1 or counts[best] < 2 else best


def _check_csv(path: Path) -> tuple[str, list[str], int]:
    """(delimiter, header columns, row count) of a CSV manifest, read in full: a quote left open (which would
    swallow the rows after it into one value) or a header of one column stops the import naming the file."""
    delimiter = _csv_delimiter(path)
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        columns, count, start = None, 0, 0
        try:
            columns = next(reader, [])
            start = reader.line_num
            for count, values in enumerate(reader, start=1):
                _check_csv_row(path, values, len(columns), delimiter, start + 1, reader.line_num, count)
                start = reader.line_num
        except csv.Error as exc:
            where = "the header" if columns is None else f"row {count + 1}"
            raise ConfigError(
                f"{path} {where} (line {start + 1}): {exc}: a quote opened there is not closed where its value "
                "ends, so the rows after it would become part of that value; close the quote (write a quote inside "
                'a value twice: "")'
            ) from None
    if len(columns) < 2:
        shown = (delimiter.join(columns) or "(empty)")[:80]
        raise ConfigError(
            f"{path}: the header {shown!r} is a single column, so no row can name both an image and its prompt; "
            "a .csv manifest separates its columns with commas (or ; tab |) and names them in its first line, "
            "e.g. path,prompt"
        )
    return delimiter, columns, count


def _check_csv_row(path: Path, values: list[str], columns: int, delimiter: str, first: int, last: int, row: int):
    """A value running over lines that hold as many delimiters as a row: rows swallowed by a quote left open."""
    if last <= first or columns < 2:
        return
    for value in values:
        swallowed = [line for line in value.splitlines()[1:] if line.count(delimiter) >= columns - 1]
        if swallowed:
            raise ConfigError(
                f"{path} row {row} (lines {first}-{last}): a quoted value runs over {last - first + 1} lines, and "
                f"{len(swallowed)} of them look like rows of their own ({swallowed[0][:60]!r}): a quote left open "
                "swallows the rows after it; close the quote"
            )


def open_input(
    src: Path, images_dir: Path | None = None, split: str | None = None, progress: bool = True
) -> ImportInput:
    """The input at `src`, its form found from what is there; one clear line when it is none of them."""
    src = Path(src)
    if images_dir is not None and not Path(images_dir).is_dir():
        raise ConfigError(f"--images-dir {images_dir}: not a folder")
    if src.is_dir():
        from aigi_scd.build import import_hf

        if import_hf.is_saved_dataset(src):
            return import_hf.saved_dataset_input(src, split, images_dir, progress)
        if any((src / name).is_file() for name in HF_METADATA):
            return import_hf.imagefolder_input(src, split, progress)
        return folder_input(src)
    if src.is_file():
        if src.suffix.lower() in MANIFEST_SUFFIXES:
            result = manifest_input(src, Path(images_dir) if images_dir else None)
            if result.count == 0:
                raise ConfigError(f"{src}: the manifest has no rows")
            return result
        raise ConfigError(f"{src}: cannot import a {src.suffix or 'suffix-less'} file; give {FORMS}")
    raise ConfigError(f"{src}: no such file or folder; give {FORMS}")
