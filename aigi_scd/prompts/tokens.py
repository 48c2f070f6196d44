"""Which prompts a model will truncate: token counts with each of its text encoders' tokenizers against
that encoder's limit.

Text encoders read a fixed number of tokens and diffusers silently cuts longer prompts: CLIP reads 77
(start and end tokens included) in SD, SDXL, SD3 and Flux alike; T5 reads the card's
``max_sequence_length`` (PixArt-Σ 300, SD3 and Flux-schnell 256); Kandinsky 3's T5 reads 128, fixed.
A model with several encoders truncates a prompt when any of them does (SD3 and Flux read a 100-token
prompt whole with T5 but only its first 77 tokens with CLIP). A build warns once per model and limit,
with the count and an example, and records each encoder's count in every sample's json. Counts are of
the prompt as given (PixArt's caption cleaning, when on, runs before its tokenizer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aigi_scd.prompts.spec import PromptSpec


def count_tokens(tokenizer: Any, text: str) -> int:
    """Tokens the pipeline's text encoder would be given for `text`, special tokens included."""
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


@dataclass
class EncoderCounts:
    """One text encoder's token counts of prompts, and how many tokens it reads (None: no limit known)."""

    name: str
    limit: int | None
    counts: dict[str, int] = field(default_factory=dict)  # prompt id -> tokens

    def truncated(self, prompt_id: str) -> bool | None:
        if self.limit is None or prompt_id not in self.counts:
            return None
        return self.counts[prompt_id] > self.limit


@dataclass
class TokenReport:
    """Token counts of prompts for one model, per text encoder."""

    model: str
    encoders: list[EncoderCounts] = field(default_factory=list)

    @property
    def main(self) -> EncoderCounts | None:
        """The encoder that reads the most tokens (what ``prompt_tokens``/``max_prompt_tokens`` report)."""
        limited = [e for e in self.encoders if e.limit is not None]
        return max(limited, key=lambda e: e.limit) if limited else (self.encoders[0] if self.encoders else None)

    @property
    def limit(self) -> int | None:
        return self.main.limit if self.main else None

    @property
    def counts(self) -> dict[str, int]:
        return self.main.counts if self.main else {}

    def truncated(self, prompt_id: str) -> bool | None:
        """Whether any text encoder cuts the prompt (None when no encoder has a known limit)."""
        verdicts = [e.truncated(prompt_id) for e in self.encoders]
        known = [v for v in verdicts if v is not None]
        return any(known) if known else None

    def per_encoder(self, prompt_id: str) -> list[dict[str, Any]]:
        """``[{name, tokens, max_tokens, truncated}]`` for one prompt, as the sample json records it."""
        return [
            {
                "name": e.name,
                "tokens": e.counts.get(prompt_id),
                "max_tokens": e.limit,
                "truncated": e.truncated(prompt_id),
            }
            for e in self.encoders
        ]

    def over_limit(self, prompts: Sequence[PromptSpec]) -> list[PromptSpec]:
        return [p for p in prompts if self.truncated(p.id)]

    def warnings(self, prompts: Sequence[PromptSpec]) -> list[str]:
        """One line per limit that cuts prompts, naming its encoders, the count and the longest prompt."""
        groups: dict[int, list[EncoderCounts]] = {}
        for encoder in self.encoders:
            if encoder.limit is not None:
                groups.setdefault(encoder.limit, []).append(encoder)
        lines = []
        for limit, encoders in sorted(groups.items()):
            over = [p for p in prompts if any(e.truncated(p.id) for e in encoders)]
            if not over:
                continue
            tokens = {p.id: max(e.counts.get(p.id, 0) for e in encoders) for p in over}
            longest = max(over, key=lambda p: tokens[p.id])
            text = longest.text if len(longest.text) <= 70 else longest.text[:67] + "..."
            names = " and ".join(e.name for e in encoders)
            lines.append(
                f"warning: {self.model} reads at most {limit} prompt tokens with {names}; {len(over)} of "
                f"{len(prompts)} prompts are longer and will be truncated there (longest: {tokens[longest.id]} "
                f"tokens, {text!r})"
            )
        return lines


def token_report(loaded: Any, prompts: Sequence[PromptSpec]) -> TokenReport:
    """Count every prompt with each of the model's text encoders' tokenizers.

    `loaded` is a pipelines.loading.LoadedPipeline: its ``text_encoders()`` gives (name, tokenizer, limit).
    """
    report = TokenReport(model=loaded.card.name)
    counted: dict[int, dict[str, int]] = {}  # encoders sharing one tokenizer object share the counts
    for name, tokenizer, limit in loaded.text_encoders():
        if id(tokenizer) not in counted:
            counted[id(tokenizer)] = {p.id: count_tokens(tokenizer, p.text) for p in prompts}
        report.encoders.append(EncoderCounts(name, limit, dict(counted[id(tokenizer)])))
    return report
