"""PromptSpec ids and the starter suite: stable, structured, deterministic selection."""

from __future__ import annotations

import pytest

from aigi_scd.errors import ConfigError
from aigi_scd.prompts import load_suite, normalize_text, prompt_id, select_prompts


def test_prompt_id_is_stable_and_normalised():
    assert prompt_id("A red  fox.") == prompt_id("a red fox")
    assert prompt_id("a red fox") != prompt_id("a red cat")
    assert len(prompt_id("x")) == 16 and "." not in prompt_id("x")
    assert normalize_text("  Ｆｏｘ\tIN snow. ") == "fox in snow"


def test_starter_suite_is_structured():
    specs = load_suite("starter")
    assert len(specs) == 50 and len({s.id for s in specs}) == 50
    assert len({s.category for s in specs}) == 10
    for spec in specs:
        assert 1 <= len(spec.objects) <= 3
        assert all(o.name and o.detail for o in spec.objects)
        assert spec.source.suite == "starter" and spec.source.line


def test_selection_is_deterministic_and_seeded():
    specs = load_suite("starter")
    assert select_prompts(specs, 6, 0) == select_prompts(specs, 6, 0)
    assert select_prompts(specs, 6, 0) != select_prompts(specs, 6, 1)


def test_asking_for_too_many_prompts_is_explained():
    with pytest.raises(ConfigError, match="holds 50 prompts"):
        select_prompts(load_suite("starter"), 51, 0)


def test_unknown_suite_lists_suites():
    with pytest.raises(ConfigError, match="available prompt suites: aigi-scd, starter"):
        load_suite("startr")
