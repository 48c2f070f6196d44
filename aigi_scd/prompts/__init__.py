"""Prompts: the PromptSpec contract, suites (lists and generators), importers for prompt files, dedup."""

from aigi_scd.prompts.sources import PromptSet, load_prompts, prompts_jsonl
from aigi_scd.prompts.spec import PromptObject, PromptSource, PromptSpec, normalize_text, prompt_id
from aigi_scd.prompts.suites import DEFAULT_SUITE, load_suite, select_prompts

__all__ = [
    "DEFAULT_SUITE",
    "PromptObject",
    "PromptSet",
    "PromptSource",
    "PromptSpec",
    "load_prompts",
    "load_suite",
    "normalize_text",
    "prompt_id",
    "prompts_jsonl",
    "select_prompts",
]
