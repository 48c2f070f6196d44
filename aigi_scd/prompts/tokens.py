"""Which prompts a model will truncate: token counts with the model's own tokenizer against its limit.

Text encoders read a fixed number of tokens (CLIP: 77 including its start and end tokens; PixArt-Σ's
T5: the card's ``max_sequence_length``, 300); diffusers silently cuts longer prompts. A build warns
once per model with the count and an example, and records the count in every sample's json.
Counts are of the prompt as given (PixArt's caption cleaning, when on, runs before its tokenizer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aigi_scd.prompts.spec import PromptSpec


def limiting_tokenizer(loaded: Any):
    """The tokenizer whose limit `LoadedPipeline.max_prompt_tokens()` reports.

    With a card's ``max_sequence_length`` that is the long-context (T5) tokenizer, which pipelines with
    several text encoders name last (Flux: tokenizer_2, SD3: tokenizer_3); otherwise the first one.
    """
    pipe = loaded.pipe
    if loaded.card.call.extra.get("max_sequence_length"):
        for name in ("tokenizer_3", "tokenizer_2", "tokenizer"):
            if getattr(pipe, name, None) is not None:
                return getattr(pipe, name)
    return getattr(pipe, "tokenizer", None)


def count_tokens(tokenizer: Any, text: str) -> int:
    """Tokens the pipeline's text encoder would be given for `text`, special tokens included."""
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


@dataclass
class TokenReport:
    """Token counts of prompts for one model, and its limit (None when it has no tokenizer or no limit)."""

    model: str
    limit: int | None
    counts: dict[str, int] = field(default_factory=dict)  # prompt id -> tokens

    def truncated(self, prompt_id: str) -> bool | None:
        if self.limit is None or prompt_id not in self.counts:
            return None
        return self.counts[prompt_id] > self.limit

    def over_limit(self, prompts: Sequence[PromptSpec]) -> list[PromptSpec]:
        return [p for p in prompts if self.truncated(p.id)]

    def warning(self, prompts: Sequence[PromptSpec]) -> str | None:
        """One line naming how many prompts this model truncates, with the longest as the example."""
        over = self.over_limit(prompts)
        if not over:
            return None
        longest = max(over, key=lambda p: self.counts[p.id])
        text = longest.text if len(longest.text) <= 70 else longest.text[:67] + "..."
        return (
            f"warning: {self.model} reads at most {self.limit} prompt tokens; {len(over)} of {len(prompts)} prompts "
            f"are longer and will be truncated (longest: {self.counts[longest.id]} tokens, {text!r})"
        )


def token_report(loaded: Any, prompts: Sequence[PromptSpec]) -> TokenReport:
    """Count every prompt with the model's limiting tokenizer."""
    tokenizer = limiting_tokenizer(loaded)
    report = TokenReport(model=loaded.card.name, limit=loaded.max_prompt_tokens() if tokenizer is not None else None)
    if tokenizer is not None:
        for p in prompts:
            if p.id not in report.counts:
                report.counts[p.id] = count_tokens(tokenizer, p.text)
    return report
