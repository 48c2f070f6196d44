"""Semantic fidelity: how well the semantic layer a MISC file carries matches the prompt an AIGI was made from.

For AI-generated images the PromptSpec is ground truth: its text (what the image shows) and its objects
(`[{name, detail}]`). Three numbers per file, from all-MiniLM-L6-v2 sentence embeddings (bundled, offline;
aigi_scd.prompts.embed):

- ``semantic_object_recall``: the share of the prompt's objects the file names. Objects are paired one to one
  by the cosine similarity of their names (the assignment that maximises the total); a pair counts when its
  similarity reaches :data:`OBJECT_MATCH` (0.7: "dog"/"puppy" 0.80, "car"/"automobile" 0.87 match; "cat"/"dog"
  0.66, "bicycle"/"motorcycle" 0.68 do not). A file that carries no objects recalls none.
- ``semantic_object_precision``: the share of the file's objects that pair with one of the prompt's.
- ``semantic_description_similarity``: cosine similarity of the file's description and the prompt's text.

Undefined values are None: every column for files without a semantic layer (not MISC, or a MISC preset that
sends none, such as misc-offline: shown as — in the tables, not as a recall of 0) and for images without a
prompt (natural sets); recall when the prompt lists no objects; precision when the file
names none; description similarity when the file has no description.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aigi_scd.codec.misc.codec import carried_semantics
from aigi_scd.codec.misc.semantics import Semantics

OBJECT_MATCH = 0.7
RECALL = "semantic_object_recall"
PRECISION = "semantic_object_precision"
DESCRIPTION = "semantic_description_similarity"
COLUMNS = (RECALL, PRECISION, DESCRIPTION)


def empty_scores() -> dict[str, float | None]:
    return dict.fromkeys(COLUMNS)


def _truth(prompt: dict[str, Any] | None) -> tuple[str, list[str]] | None:
    if not prompt or not prompt.get("text"):
        return None
    names = [str(o.get("name") or "").strip() for o in prompt.get("objects") or []]
    return str(prompt["text"]), [n for n in names if n]


def _matches(similarity: np.ndarray) -> int:
    """How many one-to-one pairs (best total similarity) reach OBJECT_MATCH."""
    from scipy.optimize import linear_sum_assignment

    if similarity.size == 0:
        return 0
    rows, cols = linear_sum_assignment(-similarity)
    return int(np.sum(similarity[rows, cols] >= OBJECT_MATCH))


def score_pairs(pairs: Sequence[tuple[Semantics | None, dict[str, Any] | None]]) -> list[dict[str, float | None]]:
    """One score dict per (semantic layer carried, or None for non-MISC files; prompt json or None), embedding
    every text of the batch at once (the model loads only when some text needs embedding)."""
    texts: list[str] = []

    def index(text: str) -> int:
        texts.append(text)
        return len(texts) - 1

    plans = []
    for carried, prompt in pairs:
        truth = _truth(prompt)
        if carried is None or truth is None:
            plans.append(None)
            continue
        text, names = truth
        found = [o.name for o in carried.objects if o.name.strip()]
        paired = bool(names and found)  # only then do names need embedding
        plans.append(
            {
                "truth": [index(n) for n in names] if paired else names,
                "found": [index(n) for n in found] if paired else found,
                "paired": paired,
                "description": (index(carried.description), index(text)) if carried.description else None,
            }
        )
    vectors = None
    if texts:
        from aigi_scd.prompts.embed import embed

        vectors = embed(texts, precision="float32")
    out = []
    for plan in plans:
        scores = empty_scores()
        if plan is not None:
            truth, found = plan["truth"], plan["found"]
            matched = _matches(vectors[truth] @ vectors[found].T) if plan["paired"] else 0
            scores[RECALL] = matched / len(truth) if truth else None
            scores[PRECISION] = matched / len(found) if found else None
            if plan["description"] is not None:
                a, b = plan["description"]
                scores[DESCRIPTION] = float(vectors[a] @ vectors[b])
        out.append(scores)
    return out


def semantic_layer(data: bytes) -> Semantics | None:
    """The semantic layer a file carries, or None when it carries none (not a MISC file, or a MISC preset without
    one, such as misc-offline): fidelity is then undefined, not a measured zero."""
    from aigi_scd.codec.misc.bitstream import is_misc_file, parse

    if not is_misc_file(data) or "semantic" not in parse(data).sections:
        return None
    return carried_semantics(data)


def file_scores(bitstreams: Sequence[bytes], prompts: Sequence[dict[str, Any] | None]) -> list[dict[str, float | None]]:
    """Semantic fidelity of each file against its image's prompt (see the module docstring)."""
    return score_pairs([(semantic_layer(data), prompt) for data, prompt in zip(bitstreams, prompts, strict=True)])
