"""Turn a vision-language model's answer into the semantic layer, whatever shape the answer takes.

Models asked for JSON still wrap it in prose or code fences, leave trailing commas, use single quotes,
rename keys, give boxes as strings or in another coordinate frame, or stop mid-object at the token
limit. json-repair fixes the syntax; the code here maps what was meant onto description, objects and
boxes, and records every repair in ``Semantics.notes``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from json_repair import repair_json

from aigi_scd.codec.misc.semantics import SemanticObject, Semantics

_DESCRIPTION_KEYS = ("description", "caption", "overall_description", "overall", "summary", "scene")
_OBJECT_LIST_KEYS = ("objects", "salient_objects", "items", "entities")
_NAME_KEYS = ("name", "label", "object", "category", "class")
_DETAIL_KEYS = ("detail", "details", "description", "attributes", "attribute")
_BOX_KEYS = ("bbox_2d", "bbox", "box", "bounding_box")


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    return next((lowered[k] for k in keys if k in lowered), None)


def _json_part(text: str) -> str | None:
    fenced = re.search(r"```(?:json)?\s*(.*?)(?:```|$)", text, re.S)
    if fenced:
        text = fenced.group(1)
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    return text[min(starts) :] if starts else None


def _box(value: Any, size: tuple[int, int] | None, notes: list[str], name: str):
    if isinstance(value, str):
        value = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", value)]
    if isinstance(value, dict):
        value = [value.get(k) for k in ("x1", "y1", "x2", "y2")]
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        notes.append(f"dropped the box of {name!r}: not four numbers")
        return None
    if max(abs(x0), abs(y0), abs(x1), abs(y1)) > 1.0:
        if size is None:
            notes.append(f"dropped the box of {name!r}: pixel coordinates without an image size")
            return None
        width, height = size
        x0, x1, y0, y1 = x0 / width, x1 / width, y0 / height, y1 / height
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    clipped = tuple(min(max(v, 0.0), 1.0) for v in box)
    if clipped != box:
        notes.append(f"clipped the box of {name!r} to the image")
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        notes.append(f"dropped the box of {name!r}: empty")
        return None
    return clipped


def parse_answer(text: str, image_size: tuple[int, int] | None = None) -> Semantics:
    """Semantics from a VLM answer; `image_size` (width, height) is the frame of pixel-coordinate boxes."""
    notes: list[str] = []
    part = _json_part(text or "")
    if part is None:
        notes.append("the answer held no JSON; its text is used as the description")
        return Semantics(" ".join((text or "").split()), [], notes).limited()
    try:
        data = json.loads(part)
    except json.JSONDecodeError:
        data = json.loads(repair_json(part) or "null")
        notes.append("repaired malformed JSON")
    if isinstance(data, list):
        data = {"objects": data}
        notes.append("the answer was a bare list; read it as the objects")
    if not isinstance(data, dict):
        notes.append("the JSON held no mapping; nothing usable")
        return Semantics("", [], notes)
    description = _first(data, _DESCRIPTION_KEYS)
    if not isinstance(description, str):
        if description is not None:
            notes.append("the description was not text")
        description = ""
    raw_objects = _first(data, _OBJECT_LIST_KEYS) or []
    if isinstance(raw_objects, dict):
        raw_objects = [raw_objects]
    objects = []
    for raw in raw_objects if isinstance(raw_objects, list) else []:
        if isinstance(raw, str):
            objects.append(SemanticObject(raw))
            continue
        if not isinstance(raw, dict):
            notes.append(f"dropped an object that was neither text nor a mapping: {raw!r}"[:120])
            continue
        name = _first(raw, _NAME_KEYS)
        if not isinstance(name, str) or not name.strip():
            notes.append("dropped an object without a name")
            continue
        detail = _first(raw, _DETAIL_KEYS)
        if isinstance(detail, list):
            detail = ", ".join(map(str, detail))
        box_value = _first(raw, _BOX_KEYS)
        box = _box(box_value, image_size, notes, name) if box_value is not None else None
        objects.append(SemanticObject(name, str(detail or ""), box))
    semantics = Semantics(description, objects, notes)
    limited = semantics.limited()
    if limited.serialize() != semantics.serialize():
        limited.notes.append(
            "shortened to MISC's limits (50-word description, 3 objects, 3-word names, 10-word details)"
        )
    return limited
