"""Malformed VLM answers as real models give them: recovered, or reduced to what can be parsed, and recorded."""

from __future__ import annotations

import pytest

from aigi_scd.codec.misc.vlm_answer import parse_answer

GOOD = {
    "description": "A white lighthouse on a grassy headland above a rocky shore under a clear blue sky.",
    "objects": [{"name": "lighthouse", "detail": "tall white tower with a black lantern", "bbox_2d": [40, 10, 80, 90]}],
}


def test_clean_json_with_pixel_boxes():
    import json

    sem = parse_answer(json.dumps(GOOD), image_size=(160, 100))
    assert sem.description.startswith("A white lighthouse") and sem.notes == []
    (obj,) = sem.objects
    assert obj.name == "lighthouse" and obj.box == pytest.approx((0.25, 0.1, 0.5, 0.9))


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        (
            '```json\n{"description": "a cat on a sofa", "objects": [{"name": "cat", "detail": "grey tabby",}],}\n```',
            "repaired malformed JSON",
        ),
        (
            "Sure! Here is the JSON:\n"
            "{'description': 'a cat on a sofa', 'objects': [{'name': 'cat', 'detail': 'grey'}]}",
            "repaired malformed JSON",
        ),
        (
            '{"description": "a cat on a sofa", "objects": [{"name": "cat", "detail": "grey tabby", "bbox_2d": [1',
            "repaired malformed JSON",
        ),
    ],
)
def test_broken_syntax_is_repaired(answer, note):
    sem = parse_answer(answer, image_size=(100, 100))
    assert sem.description == "a cat on a sofa"
    assert sem.objects and sem.objects[0].name == "cat"
    assert note in sem.notes


def test_other_key_names_and_shapes_are_understood():
    answer = (
        '{"caption": "two boats in a harbour", "salient_objects": ["harbour", '
        '{"label": "boat", "attributes": ["blue", "wooden"], "bbox": "[10, 20, 50, 60]"}]}'
    )
    sem = parse_answer(answer, image_size=(100, 100))
    assert sem.description == "two boats in a harbour"
    assert [(o.name, o.detail) for o in sem.objects] == [("harbour", ""), ("boat", "blue, wooden")]
    assert sem.objects[1].box == pytest.approx((0.1, 0.2, 0.5, 0.6))


def test_bad_boxes_are_dropped_or_clipped_with_a_note():
    answer = (
        '{"description": "d", "objects": [{"name": "a", "bbox_2d": [0, 0, "x"]}, '
        '{"name": "b", "bbox_2d": [-10, 5, 300, 50]}, {"name": "c", "bbox_2d": [5, 5, 5, 9]}]}'
    )
    sem = parse_answer(answer, image_size=(200, 100))
    boxes = {o.name: o.box for o in sem.objects}
    assert boxes["a"] is None and boxes["c"] is None
    assert boxes["b"] == pytest.approx((0.0, 0.05, 1.0, 0.5))
    assert any("not four numbers" in n for n in sem.notes) and any("clipped" in n for n in sem.notes)


def test_no_json_at_all_keeps_the_text_as_description():
    sem = parse_answer("A foggy harbour at dawn with fishing boats.")
    assert sem.description == "A foggy harbour at dawn with fishing boats." and sem.objects == []
    assert "held no JSON" in sem.notes[0]


def test_objects_without_names_are_dropped_and_limits_applied():
    answer = (
        '{"description": "'
        + " ".join(["word"] * 70)
        + '", "objects": [{"detail": "nameless"}, '
        + ", ".join(f'{{"name": "thing number {i} here", "detail": "d"}}' for i in range(5))
        + "]}"
    )
    sem = parse_answer(answer)
    assert len(sem.description.split()) == 50 and len(sem.objects) == 3
    assert all(len(o.name.split()) <= 3 for o in sem.objects)
    assert "dropped an object without a name" in sem.notes and any("limits" in n for n in sem.notes)


def test_garbage_yields_nothing_usable_but_no_crash():
    for answer in ["", "{", "[1, 2, 3]", "null", "\x00\x01\x02", '{"objects": 5}']:
        sem = parse_answer(answer)
        assert isinstance(sem.description, str)
