"""Make a decoder's prompts fit its text encoders, and say what was cut.

A CLIP text encoder reads 77 tokens (BOS and EOS included) and the diffusers pipelines cut longer prompts
with only a logged warning. MISC's 50-word description often runs past that (long or rare words split into
several tokens), so the words past the limit would cost bytes in the file and then be ignored. The encoder
therefore shortens the text to the longest word prefix every text encoder of the decoder reads whole, and
records the token counts; the decoder applies the same fit to whatever file it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aigi_scd.codec.misc.semantics import SemanticObject, Semantics


@dataclass(frozen=True)
class PromptFit:
    """One prompt before and after fitting: `tokens` counts the longest tokenization over the encoders."""

    role: str  # "description" or "object <i>"
    text: str
    tokens: int
    original_tokens: int
    limit: int
    dropped_words: int

    @property
    def shortened(self) -> bool:
        return self.dropped_words > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "tokens": self.tokens,
            "original_tokens": self.original_tokens,
            "limit": self.limit,
            "dropped_words": self.dropped_words,
        }


def token_count(text: str, tokenizers: Sequence[Any]) -> int:
    """The most tokens any of `tokenizers` makes of `text`, special tokens included (what the encoder reads)."""
    return max(len(tok(text, add_special_tokens=True, truncation=False)["input_ids"]) for tok in tokenizers)


def token_limit(tokenizers: Sequence[Any]) -> int:
    """The fewest tokens any of the text encoders reads (77 for CLIP)."""
    return min(int(tok.model_max_length) for tok in tokenizers)


def fit_text(text: str, tokenizers: Sequence[Any], role: str = "prompt") -> PromptFit:
    """The longest word prefix of `text` that every tokenizer reads within its limit (trailing commas dropped)."""
    limit = token_limit(tokenizers)
    words = text.split()
    original = token_count(text, tokenizers) if words else 0
    if original <= limit:
        return PromptFit(role, text, original, original, limit, 0)
    lo, hi = 0, len(words)  # lo words fit, hi words do not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if token_count(" ".join(words[:mid]), tokenizers) <= limit:
            lo = mid
        else:
            hi = mid
    kept = " ".join(words[:lo]).rstrip(",;:")
    tokens = token_count(kept, tokenizers) if kept else 0
    return PromptFit(role, kept, tokens, original, limit, len(words) - lo)


def region_prompt(obj: SemanticObject) -> str:
    """What a region pass is guided by: the object's name and its detail."""
    return f"{obj.name}, {obj.detail}" if obj.detail else obj.name


def fit_semantics(semantics: Semantics, tokenizers: Sequence[Any]) -> tuple[Semantics, list[PromptFit]]:
    """The semantic layer with every prompt the decoder builds from it within the text encoders' limit.

    The description is cut at the end; an object's detail is cut before its name. Returns the fitted layer
    and one record per prompt that had to be cut.
    """
    cuts: list[PromptFit] = []
    description = semantics.description
    if description:
        fit = fit_text(description, tokenizers, "description")
        if fit.shortened:
            cuts.append(fit)
            description = fit.text
    objects = []
    for index, obj in enumerate(semantics.objects):
        fit = fit_text(region_prompt(obj), tokenizers, f"object {index}")
        if not fit.shortened:
            objects.append(obj)
            continue
        name = fit_text(obj.name, tokenizers).text
        prefix = f"{name}, "
        detail = fit.text[len(prefix) :] if obj.detail and fit.text.startswith(prefix) else ""
        kept = SemanticObject(name, detail, obj.box)
        cuts.append(replace(fit, text=region_prompt(kept), tokens=token_count(region_prompt(kept), tokenizers)))
        objects.append(kept)
    fitted = Semantics(description, objects, list(semantics.notes))
    for cut in cuts:
        fitted.notes.append(
            f"{cut.role}: {cut.original_tokens} tokens, cut to {cut.tokens} (the decoder's text encoders read "
            f"{cut.limit}); {cut.dropped_words} words dropped"
        )
    return fitted, cuts
