"""Generated prompt suites: a vocabulary spec (``kind: generator`` in prompts/<name>.yaml) expanded by seeded templates.

A generator spec lists content categories (with quota weights), styles, per-category salient objects
(each a name with a few short details), scenes, and global lighting, composition and templates. Every
generated prompt records its category, style and 1-3 objects (name + the detail used in the text),
which is the ground truth MISC's semantic layer can be checked against.

Determinism: each category draws from its own ``random.Random`` seeded with (seed, category name), so
the same spec, count and seed give the same prompts, and a smaller count gives a subset of a larger one.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigi_scd.config import from_mapping
from aigi_scd.errors import ConfigError
from aigi_scd.prompts.spec import PromptObject, PromptSource, PromptSpec

PLACEHOLDERS = ("lead", "style", "objects", "scene", "lighting", "composition")
# Give up on a category after this many draws per wanted prompt that were all duplicates.
MAX_DRAWS_PER_PROMPT = 50


@dataclass
class VocabObject:
    """A salient object: its name and the short details the generator may give it."""

    name: str
    details: list[str]
    article: str | None = None  # None: "a"/"an" from the first letter; "" for plurals and mass nouns

    def phrase(self, detail: str) -> str:
        article = self.article
        if article is None:
            article = "an" if self.name[:1].lower() in "aeiou" else "a"
        return " ".join(part for part in (article, self.name, detail) if part)


@dataclass
class Style:
    """A visual style: openings that name it before the subject ("an oil painting of") and closing tags."""

    name: str
    leads: list[str]
    tags: list[str]


@dataclass
class Category:
    """A content category and its vocabulary. Optional lists override the suite-wide ones."""

    name: str
    subjects: list[VocabObject]
    scenes: list[str]
    companions: list[VocabObject] = field(default_factory=list)
    weight: float = 1.0
    styles: list[str] | None = None
    lighting: list[str] | None = None
    composition: list[str] | None = None


@dataclass
class GeneratorSpec:
    """A whole generator suite as written in its YAML file."""

    name: str
    kind: Literal["generator"]
    styles: list[Style]
    lighting: list[str]
    composition: list[str]
    templates: list[str]
    categories: list[Category]
    description: str = ""
    default_count: int = 1000
    objects_per_prompt: dict[Any, Any] = field(default_factory=lambda: {1: 1.0})
    pair_connectors: list[str] = field(default_factory=lambda: [" and "])
    negative: str | None = None
    path: str = field(default="", metadata={"internal": True})


def _check(spec: GeneratorSpec, where: str) -> GeneratorSpec:
    """Cross-field rules the dataclass types cannot say; each error names the key and the fix."""
    if spec.default_count < 1:
        raise ConfigError(f"{where}.default_count: must be at least 1, got {spec.default_count}")
    for key in ("styles", "lighting", "composition", "templates", "categories"):
        if not getattr(spec, key):
            raise ConfigError(f"{where}.{key}: must not be empty")
    counts: dict[int, float] = {}
    for k, w in spec.objects_per_prompt.items():
        if k not in (1, 2, 3) or not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            raise ConfigError(
                f"{where}.objects_per_prompt: keys are 1, 2 or 3 and values non-negative weights, got {k!r}: {w!r}"
            )
        counts[k] = float(w)
    if not any(counts.values()):
        raise ConfigError(f"{where}.objects_per_prompt: at least one weight must be positive")
    spec.objects_per_prompt = counts
    for i, template in enumerate(spec.templates):
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as exc:
            raise ConfigError(f"{where}.templates[{i}]: {exc} in {template!r}") from None
        unknown = sorted(names - set(PLACEHOLDERS))
        if unknown:
            raise ConfigError(
                f"{where}.templates[{i}]: unknown placeholder {{{unknown[0]}}}; allowed: "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            )
        if "objects" not in names or not names & {"lead", "style"}:
            raise ConfigError(
                f"{where}.templates[{i}]: needs {{objects}} and one of {{lead}} or {{style}}: {template!r}"
            )
    style_names = [s.name for s in spec.styles]
    for s in spec.styles:
        if not s.leads or not s.tags:
            raise ConfigError(f"{where}.styles[{s.name}]: needs at least one lead and one tag")
    seen: set[str] = set()
    for c in spec.categories:
        here = f"{where}.categories[{c.name}]"
        if c.name in seen:
            raise ConfigError(f"{here}: category named twice")
        seen.add(c.name)
        if c.weight <= 0:
            raise ConfigError(f"{here}.weight: must be positive, got {c.weight}")
        if not c.subjects or not c.scenes:
            raise ConfigError(f"{here}: needs at least one subject and one scene")
        for o in c.subjects + c.companions:
            if not o.details:
                raise ConfigError(f"{here}: object {o.name!r} needs at least one detail")
        need = max(k for k, w in counts.items() if w) - 1
        if len(c.companions) < need:
            raise ConfigError(f"{here}.companions: prompts may name {need + 1} objects, so list at least {need}")
        for name in c.styles or []:
            if name not in style_names:
                raise ConfigError(f"{here}.styles: unknown style {name!r}; styles: {', '.join(style_names)}")
        for key in ("lighting", "composition"):
            if getattr(c, key) is not None and not getattr(c, key):
                raise ConfigError(f"{here}.{key}: leave it out to use the suite's list, or give at least one")
    return spec


def parse_generator(data: dict[str, Any], path: Path) -> GeneratorSpec:
    """Validate a generator suite's YAML mapping (errors name the file and key)."""
    spec = from_mapping(GeneratorSpec, data, str(path))
    spec.path = str(path)
    return _check(spec, str(path))


def quotas(weights: dict[str, float], count: int, rng: random.Random) -> dict[str, int]:
    """Split `count` over categories in proportion to their weights (largest remainder; ties broken by `rng`)."""
    total = sum(weights.values())
    exact = {name: count * w / total for name, w in weights.items()}
    result = {name: int(x) for name, x in exact.items()}
    order = list(weights)
    rng.shuffle(order)
    order.sort(key=lambda name: exact[name] - result[name], reverse=True)  # stable: shuffled order breaks ties
    for name in order[: count - sum(result.values())]:
        result[name] += 1
    return result


def _join(parts: list[str], connector: str) -> str:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0] + connector + parts[1]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def category_stream(spec: GeneratorSpec, category: Category, seed: int) -> Iterator[PromptSpec]:
    """An endless, seeded stream of prompts of one category (duplicates possible; the caller drops them)."""
    rng = random.Random(f"aigi-scd-generator/{seed}/{category.name}")
    styles = [s for s in spec.styles if category.styles is None or s.name in category.styles]
    lighting = category.lighting or spec.lighting
    composition = category.composition or spec.composition
    ks = [k for k, w in spec.objects_per_prompt.items() if w > 0]
    kw = [spec.objects_per_prompt[k] for k in ks]
    used = [{name for _, name, _, _ in string.Formatter().parse(t) if name} for t in spec.templates]
    cycle: list[Style] = []
    while True:
        if not cycle:  # every style once per round, in a fresh order: styles stay balanced within a category
            cycle = styles[:]
            rng.shuffle(cycle)
        style = cycle.pop()
        k = rng.choices(ks, kw)[0]
        subject = rng.choice(category.subjects)
        others = [c for c in category.companions if c.name != subject.name]
        chosen = [subject, *rng.sample(others, k - 1)]
        details = [rng.choice(o.details) for o in chosen]
        phrases = [o.phrase(d) for o, d in zip(chosen, details, strict=True)]
        fields = {
            "lead": rng.choice(style.leads),
            "style": rng.choice(style.tags),
            "objects": _join(phrases, rng.choice(spec.pair_connectors)),
            "scene": rng.choice(category.scenes),
            "lighting": rng.choice(lighting),
            "composition": rng.choice(composition),
        }
        template_index = rng.randrange(len(spec.templates))
        text = " ".join(spec.templates[template_index].format(**fields).split())
        yield PromptSpec(
            text=text,
            negative=spec.negative,
            category=category.name,
            style=style.name,
            objects=tuple(PromptObject(o.name, d) for o, d in zip(chosen, details, strict=True)),
            source=PromptSource(suite=spec.name, line=None),
            extra={
                **{key: fields[key] for key in ("scene", "lighting", "composition") if key in used[template_index]},
                "template": template_index,
            },
        )


# Decides which of a batch of new prompts to keep given everything kept so far (near-duplicate removal).
KeepFilter = Callable[[list[PromptSpec]], list[bool]]


def generate(spec: GeneratorSpec, count: int, seed: int, keep: KeepFilter | None = None) -> list[PromptSpec]:
    """`count` distinct prompts, categories balanced by weight, in a seeded shuffled order.

    Exact duplicates (same normalised text) are always redrawn. `keep`, when given, is asked about each
    round of new prompts (in order) and the ones it refuses are redrawn from the same category, so
    quotas hold after near-duplicate removal too.
    """
    if count < 1:
        raise ConfigError(f"--num-prompts must be at least 1, got {count}")
    rng = random.Random(f"aigi-scd-generator/{seed}")
    wanted = quotas({c.name: c.weight for c in spec.categories}, count, rng)
    streams = {c.name: category_stream(spec, c, seed) for c in spec.categories}
    chosen: dict[str, list[PromptSpec]] = {c.name: [] for c in spec.categories}
    draws = dict.fromkeys(chosen, 0)
    seen: set[str] = set()
    while True:
        fresh: list[PromptSpec] = []
        for name, stream in streams.items():
            missing = wanted[name] - len(chosen[name])
            while missing > 0:
                if draws[name] > MAX_DRAWS_PER_PROMPT * max(wanted[name], 1):
                    raise ConfigError(
                        f"{spec.path or spec.name}: category {name!r} cannot make {wanted[name]} distinct prompts "
                        f"(only {len(chosen[name])} after {draws[name]} draws); add subjects, details or scenes "
                        "to it, ask for fewer prompts, or raise --near-dup"
                    )
                draws[name] += 1
                candidate = next(stream)
                if candidate.id in seen:
                    continue
                seen.add(candidate.id)
                fresh.append(candidate)
                missing -= 1
        if not fresh:
            break
        verdicts = keep(fresh) if keep is not None else [True] * len(fresh)
        for candidate, ok in zip(fresh, verdicts, strict=True):
            if ok:
                chosen[candidate.category].append(candidate)
    prompts = [p for c in spec.categories for p in chosen[c.name]]
    rng.shuffle(prompts)
    return prompts
