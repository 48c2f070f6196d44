"""Prompts: the PromptSpec contract and the suites that produce them."""

from aigi_scd.prompts.spec import PromptObject, PromptSource, PromptSpec, normalize_text, prompt_id
from aigi_scd.prompts.suites import DEFAULT_SUITE, load_suite, select_prompts

__all__ = [
    "DEFAULT_SUITE",
    "PromptObject",
    "PromptSource",
    "PromptSpec",
    "load_suite",
    "normalize_text",
    "prompt_id",
    "select_prompts",
]
