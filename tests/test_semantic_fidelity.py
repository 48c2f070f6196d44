"""Semantic fidelity of a MISC file against the AIGI's prompt: object recall and precision by MiniLM similarity of
names (paired one to one), description similarity; None wherever a number is undefined."""

from __future__ import annotations

import pytest

from aigi_scd.bench.semantic_fidelity import OBJECT_MATCH, file_scores, score_pairs
from aigi_scd.codec.misc.bitstream import MiscFile
from aigi_scd.codec.misc.semantics import SemanticObject, Semantics
from aigi_scd.codec.misc.textcode import encode_text

PROMPT = {"text": "a dog and a red car on a wet street at night", "objects": [{"name": "dog"}, {"name": "car"}]}


def test_synonyms_pair_and_other_objects_do_not():
    carried = Semantics(
        "a puppy beside an automobile on a street",
        [SemanticObject("puppy"), SemanticObject("automobile"), SemanticObject("lamp post")],
    )
    (scores,) = score_pairs([(carried, PROMPT)])
    assert scores["semantic_object_recall"] == 1.0  # puppy ~ dog, automobile ~ car
    assert scores["semantic_object_precision"] == pytest.approx(2 / 3)  # the lamp post is not in the prompt
    assert 0.5 < scores["semantic_description_similarity"] < 1.0
    (wrong,) = score_pairs([(Semantics("", [SemanticObject("cat"), SemanticObject("bicycle")]), PROMPT)])
    assert wrong["semantic_object_recall"] == 0.0 and wrong["semantic_object_precision"] == 0.0  # below 0.7
    assert OBJECT_MATCH == 0.7 and wrong["semantic_description_similarity"] is None


def test_one_object_pairs_with_one_prompt_object_only():
    (scores,) = score_pairs([(Semantics("", [SemanticObject("dog"), SemanticObject("dog")]), PROMPT)])
    assert scores["semantic_object_recall"] == 0.5 and scores["semantic_object_precision"] == 0.5


def test_undefined_values_are_none():
    empty, not_misc, no_prompt = score_pairs([(Semantics(), PROMPT), (None, PROMPT), (Semantics("x"), None)])
    assert empty == {
        "semantic_object_recall": 0.0,  # the prompt names objects, the file none
        "semantic_object_precision": None,
        "semantic_description_similarity": None,
    }
    assert set(not_misc.values()) == {None} and set(no_prompt.values()) == {None}


def test_files_are_read_for_their_semantic_layer():
    misc = MiscFile(1, 8, 8, {"semantic": encode_text(Semantics("a dog", [SemanticObject("dog")]).serialize())})
    jpeg = b"\xff\xd8\xff\xe0" + bytes(20)
    got, other = file_scores([misc.to_bytes(), jpeg], [PROMPT, PROMPT])
    assert got["semantic_object_recall"] == 0.5 and got["semantic_object_precision"] == 1.0
    assert set(other.values()) == {None}
