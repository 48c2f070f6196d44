"""One input row → what an imported sample needs: its image bytes, prompt and generation fields; or why the
row is bad (a missing file, an empty prompt, a value that is not a number).

Fields are found under the names sources use (``prompt``/``caption``, ``seed``, ``steps``/``step``,
``guidance``/``cfg``, ``sampler``, ``width``, ``height``, ``size``, ``generator``/``model``, ``path``/
``file_name``/``image``...), or where ``--map FIELD=COLUMN`` says (a dotted COLUMN reaches into nested
objects: ``prompt=Task2.Caption``). Two public collections are recognised by their own field names:

- DiffusionDB: ``metadata.parquet`` / ``metadata-large.parquet`` (``image_name``, ``prompt``, ``part_id``,
  ``seed``, ``step``, ``cfg``, ``sampler`` as its code 1-9, ``width``, ``height``, ...), its images found
  under ``images/part-NNNNNN/``, ``part-NNNNNN/`` or ``diffusiondb-large-part-{1,2}/part-NNNNNN/``; and its
  per-part JSON files (``p``, ``se``, ``c``, ``st``, ``sa``).
- JourneyDB: the annotation JSONL (``img_path`` such as ``./000/x.jpg``, ``prompt``, and ``Task1`` with
  ``Style`` and ``Content`` lists, which become the prompt's style and objects), images under ``imgs/``.

Every field not used for a sample field is kept, as the source had it, in the prompt's ``extra``.
"""

from __future__ import annotations

import base64
import datetime
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigi_scd.build.import_inputs import ImportInput, RawRow
from aigi_scd.errors import AigiScdError, ConfigError
from aigi_scd.prompts.sidecar import PROMPT_FIELDS, prompt_from_fields
from aigi_scd.prompts.spec import PromptSource, PromptSpec

# Sample field → names sources use for it (case-insensitive); the prompt's own fields come from PROMPT_FIELDS.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "path": ("path", "file_name", "filename", "file", "image_path", "img_path", "image_name", "filepath", "file_path"),
    "image": ("image", "image_bytes", "img", "bytes", "png", "jpg", "jpeg", "webp"),
    "prompt": PROMPT_FIELDS["text"],
    "negative": PROMPT_FIELDS["negative"],
    "category": PROMPT_FIELDS["category"],
    "style": PROMPT_FIELDS["style"],
    "objects": PROMPT_FIELDS["objects"],
    "generator": ("generator", "model", "model_name"),
    "seed": ("seed",),
    "steps": ("steps", "step", "num_inference_steps"),
    "guidance": ("guidance", "guidance_scale", "cfg", "cfg_scale", "scale"),
    "sampler": ("sampler", "sampler_name", "scheduler"),
    "width": ("width",),
    "height": ("height",),
    "size": ("size", "resolution"),
}
MAPPABLE = tuple(FIELD_NAMES)
DIFFUSIONDB_PART = {"prompt": "p", "seed": "se", "guidance": "c", "steps": "st", "sampler": "sa"}
JOURNEYDB = {"style": "Task1.Style", "objects": "Task1.Content"}
# metadata.parquet's `sampler` column is a code (DiffusionDB README, "Metadata Schema").
DIFFUSIONDB_SAMPLERS = {
    1: "ddim",
    2: "plms",
    3: "k_euler",
    4: "k_euler_ancestral",
    5: "k_heun",
    6: "k_dpm_2",
    7: "k_dpm_2_ancestral",
    8: "k_lms",
    9: "others",
}


class BadRow(AigiScdError):
    """A row that cannot become a sample; its message says why (the caller adds where)."""


def dialect(source: ImportInput) -> str | None:
    """Whose field names the input uses: ``diffusiondb``, ``journeydb`` or None (generic names)."""
    columns = set(source.columns)
    if source.form == "diffusiondb-part" or {"p", "se", "st"} <= columns:
        return "diffusiondb-part"
    if {"image_name", "part_id", "step", "cfg"} <= columns:
        return "diffusiondb"
    if "img_path" in columns and columns & {"Task1", "Task2", "Task3"}:
        return "journeydb"
    return None


def parse_mapping(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``--map FIELD=COLUMN`` options → {field: column}, checked against the fields there are."""
    mapping = {}
    for item in items:
        name, sep, column = item.partition("=")
        name, column = name.strip().lower(), column.strip()
        if not sep or not column:
            raise ConfigError(f"--map {item!r}: write FIELD=COLUMN, e.g. --map prompt=caption")
        if name not in MAPPABLE:
            raise ConfigError(f"--map {item!r}: {name!r} is not a field; fields: {', '.join(MAPPABLE)}")
        mapping[name] = column
    return mapping


def _lookup(fields: dict[str, Any], column: str) -> tuple[bool, Any]:
    if column in fields:
        return True, fields[column]
    value: Any = fields
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


@dataclass
class RowFields:
    """A row's values for the sample fields, and which of its own fields they used."""

    values: dict[str, Any]
    used: set[str]  # top-level keys of the row consumed by a sample field


def resolve_fields(fields: dict[str, Any], mapping: dict[str, str], kind: str | None) -> RowFields:
    """Find each sample field in a row: `mapping` first, then the dialect's names, then the usual names."""
    names = {**(DIFFUSIONDB_PART if kind == "diffusiondb-part" else {}), **(JOURNEYDB if kind == "journeydb" else {})}
    values, used = {}, set()
    for name, aliases in FIELD_NAMES.items():
        column = mapping.get(name) or names.get(name)
        if column is not None:
            found, value = _lookup(fields, column)
            if not found:
                if name in mapping:
                    raise BadRow(f"no field {column!r} (given by --map {name}={column})")
                continue
            top = column if column in fields else column.split(".")[0]
            if top != column:  # a nested value: its parent stays in extra, whole
                values[name] = value
                continue
        else:
            lowered = {str(k).lower(): k for k in fields}
            present = [lowered[n] for n in aliases if n in lowered]
            if not present:
                continue
            # the first name that holds a value (a table whose rows use different names has nulls in the others)
            column = next((k for k in present if fields[k] is not None), present[0])
            top, value = column, fields[column]
        values[name] = value
        used.add(top)
    return RowFields(values, used)


def _whole(name: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRow(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number) or number != int(number):
        raise BadRow(f"{name} {value!r} is not a whole number")
    return int(number)


def _real(name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRow(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise BadRow(f"{name} {value!r} is not a finite number")
    return number


def _size(value: Any) -> tuple[int | None, int | None]:
    if value is None or value == "":
        return None, None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return _whole("width", value[0]), _whole("height", value[1])
    if isinstance(value, str) and "x" in value.lower().replace("×", "x"):
        width, _, height = value.lower().replace("×", "x").partition("x")
        return _whole("width", width), _whole("height", height)
    raise BadRow(f"size {value!r} is not WIDTHxHEIGHT")


def plain(value: Any) -> Any:
    """A source's value as JSON data: datetimes in ISO form, bytes left out (they are the image, stored apart)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not isinstance(v, (bytes, bytearray))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class RowSample:
    """What a row says about its image: the bytes, the original's name, the prompt and generation fields."""

    data: bytes
    name: str
    prompt: PromptSpec
    generator: str
    seed: int | None
    steps: int | None
    guidance: float | None
    sampler: str | None
    width: int | None  # the size the source says it asked for (the stored image's own size is measured)
    height: int | None


def _candidates(reference: str, fields: dict[str, Any], base: Path, kind: str | None) -> list[Path]:
    """Where a relative image path may be: under `base`, and where DiffusionDB and JourneyDB keep images."""
    relative = Path(reference.removeprefix("./"))
    if relative.is_absolute():
        return [relative]
    paths = [base / relative]
    part = _whole("part_id", fields.get("part_id")) if kind == "diffusiondb" else None
    if part is not None:
        folder = f"part-{part:06d}"
        paths += [base / "images" / folder / relative, base / folder / relative]
        # DiffusionDB Large (metadata-large.parquet): parts 1-10000 and 10001-14000 in two top folders
        paths += [base / f"diffusiondb-large-part-{n}" / folder / relative for n in (1, 2)]
    if kind == "journeydb":
        paths.append(base / "imgs" / relative)
    return paths


def _image_bytes(raw: RawRow, values: dict[str, Any], source: ImportInput, kind: str | None) -> tuple[bytes, str]:
    """The image's bytes and original name, from the row's file, path field or bytes field."""
    image = values.get("image")
    reference = values.get("path")
    if isinstance(image, dict):  # a datasets Image value: {"bytes": ..., "path": ...}
        if image.get("bytes"):
            return bytes(image["bytes"]), Path(str(image.get("path") or raw.name or "")).name or raw.where
        reference = reference or image.get("path")
    elif isinstance(image, (bytes, bytearray)):
        return bytes(image), raw.name or raw.where
    elif isinstance(image, str) and image.strip():
        if image.startswith("data:") and "base64," in image:  # a data URL
            try:
                return base64.b64decode(image.split("base64,", 1)[1], validate=True), raw.name or raw.where
            except ValueError:
                raise BadRow("the image data URL is not valid base64") from None
        reference = reference or image
    if raw.path is not None:
        paths = [raw.path]
        name = raw.name or raw.path.name
    else:
        reference = reference if isinstance(reference, str) and reference.strip() else raw.name
        if not reference:
            raise BadRow("no image: the row names no file (path, file_name, image...) and holds no image bytes")
        if "://" in reference:
            raise BadRow(f"the image is a URL ({reference}); download the images and give their folder (--images-dir)")
        paths = _candidates(reference, raw.fields, source.base, kind)
        name = reference.removeprefix("./")
        if source.form == "imagefolder":
            try:
                name = Path(reference).relative_to(source.path.resolve()).as_posix()
            except ValueError:
                name = Path(reference).name
    for path in paths:
        if path.is_file():
            try:
                return path.read_bytes(), name
            except OSError as exc:
                raise BadRow(f"cannot read {path}: {exc.strerror}") from None
    looked = " or ".join(str(p) for p in paths)
    hint = "" if raw.path is not None else "; give the images' folder with --images-dir"
    raise BadRow(f"image file not found: {looked}{hint}")


def row_sample(
    raw: RawRow, source: ImportInput, mapping: dict[str, str], default_generator: str, kind: str | None
) -> RowSample:
    """The image and fields of `raw` (the source's other fields in the prompt's extra). Raises BadRow.

    The generator is the row's own (a ``generator``/``model`` field), else `default_generator`."""
    if raw.problem:
        raise BadRow(raw.problem)
    resolved = resolve_fields(raw.fields, mapping, kind)
    values = resolved.values
    data, name = _image_bytes(raw, values, source, kind)
    extra = {
        k: plain(v)
        for k, v in raw.fields.items()
        if k not in resolved.used and v is not None and not isinstance(v, bytes)
    }
    if isinstance(raw.fields.get("image"), dict) and "image" not in resolved.used:
        extra.pop("image", None)
    prompt_values = {"text": values["prompt"]} if "prompt" in values else {}
    prompt_values.update(
        {n: values[n] for n in ("negative", "category", "style", "objects") if values.get(n) is not None}
    )
    try:
        prompt = prompt_from_fields(
            prompt_values,
            PromptSource(source.path.name, raw.row),
            raw.where,
            keys={k: k for k in prompt_values},
            extra=extra,
        )
    except ConfigError as exc:
        raise BadRow(str(exc).removeprefix(f"{raw.where}: ")) from None
    width, height = _size(values.get("size"))
    width = _whole("width", values.get("width")) if values.get("width") is not None else width
    height = _whole("height", values.get("height")) if values.get("height") is not None else height
    sampler = values.get("sampler")
    if kind == "diffusiondb" and isinstance(sampler, int):
        sampler = DIFFUSIONDB_SAMPLERS.get(sampler, str(sampler))
    named = values.get("generator")
    sample = RowSample(
        data=data,
        name=name,
        prompt=prompt,
        generator=str(named).strip() if named not in (None, "") and str(named).strip() else default_generator,
        seed=_whole("seed", values.get("seed")),
        steps=_whole("steps", values.get("steps")),
        guidance=_real("guidance", values.get("guidance")),
        sampler=str(sampler) if sampler not in (None, "") else None,
        width=width,
        height=height,
    )
    return sample
