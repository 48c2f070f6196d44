"""Model cards: one YAML file per text-to-image model in the ``pipelines/`` registry.

A card says where the weights are (hub id, local folder, or ``tiny:<builder>`` for the offline
test pipelines), how to load them (pipeline class, dtype, variant, scheduler override) and how to
call them (steps, guidance, size and per-family keyword arguments).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigi_scd.config import load_name_list, load_registry_entry, load_registry_file, registry_files
from aigi_scd.errors import ConfigError
from aigi_scd.pipelines.families import card_problem
from aigi_scd.pipelines.speed import SpeedOptions
from aigi_scd.weights.tiny import check_tiny_repo

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
Dtype = Literal["float16", "bfloat16", "float32"]
Offload = Literal["none", "model", "sequential"]


@dataclass(frozen=True)
class SchedulerOverride:
    """Replace the repo's scheduler: ``class`` from diffusers, built ``from_config`` with ``config`` on top."""

    cls: str = field(metadata={"key": "class"})
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallDefaults:
    """What every generation call passes: the model's recommended settings."""

    steps: int
    guidance: float
    width: int
    height: int
    negative_prompt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        for side in ("width", "height"):
            value = getattr(self, side)
            if value < 8 or value % 8:
                raise ValueError(f"{side} must be a positive multiple of 8, got {value}")
        reserved = {
            "prompt",
            "negative_prompt",
            "num_inference_steps",
            "guidance_scale",
            "width",
            "height",
            "generator",
            "output_type",
            "num_images_per_prompt",
        }
        clash = sorted(reserved & set(self.extra))
        if clash:
            raise ValueError(
                f"extra must not set {clash[0]!r}: it is set by aigi-scd (use steps/guidance/width/height)"
            )


@dataclass(frozen=True)
class MemoryOptions:
    """How to fit a model into less accelerator memory (diffusers' own mechanisms).

    ``offload: model`` keeps each component in RAM until the pipeline needs it (the GPU holds the
    largest one at a time); ``sequential`` moves weights layer by layer (least GPU memory, slowest).
    ``vae_tiling`` decodes large images tile by tile; ``vae_slicing`` decodes a batch one image at a time.
    """

    offload: Offload = "none"
    vae_tiling: bool = False
    vae_slicing: bool = False


@dataclass(frozen=True)
class ModelCard:
    name: str
    repo: str
    call: CallDefaults
    description: str = ""
    revision: str | None = None
    pipeline: str | None = None
    dtype: Dtype = "float16"
    variant: str | None = None
    dtype_fallback: bool = True  # on GPUs without bf16, may a bfloat16 card run in float16? (false: stop instead)
    scheduler: SchedulerOverride | None = None
    memory: MemoryOptions = field(default_factory=MemoryOptions)
    speed: SpeedOptions = field(default_factory=SpeedOptions)  # how fast it runs: never which images it makes
    license: str = "unknown"
    homepage: str | None = None
    source: str = field(default="", metadata={"internal": True}, compare=False)

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ValueError(f"name {self.name!r} must be letters, digits, '-' or '_' (no dots or spaces)")
        try:
            check_tiny_repo(self.repo)
        except ConfigError as exc:
            raise ValueError(f"repo: {exc}") from None
        problem = card_problem(self.pipeline, self.call.width, self.call.height, self.call.extra)
        if problem:
            raise ValueError(problem)

    @property
    def is_tiny(self) -> bool:
        return self.repo.startswith("tiny:")

    def snapshot(self) -> dict[str, Any]:
        """The card as plain data, as recorded in every sample and in the build manifest."""
        data = dataclasses.asdict(self)
        data.pop("source")
        if self.scheduler is not None:
            data["scheduler"] = {"class": self.scheduler.cls, "config": self.scheduler.config}
        return data

    def fingerprint(self) -> str:
        """sha256 of the card's content: two builds with equal fingerprints used the same card. The ``speed``
        section is left out: it changes how fast images are made, not which (a build resumes across it)."""
        data = {k: v for k, v in self.snapshot().items() if k != "speed"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def card_paths(directory: Path | None = None) -> dict[str, Path]:
    """Card name → file, for every ``*.yaml`` in the registry folder."""
    return registry_files("pipelines", directory)


def load_card_file(path: Path) -> ModelCard:
    return load_registry_file(path, ModelCard, "a model card")


def load_card(name_or_path: str, directory: Path | None = None) -> ModelCard:
    """A card by registry name (``sdxl``) or by path to a YAML file."""
    return load_registry_entry("pipelines", name_or_path, load_card_file, "model", directory)


def load_cards(spec: str, directory: Path | None = None) -> list[ModelCard]:
    """Cards from a comma-separated list of names or paths; duplicates are an error."""
    return load_name_list(
        spec,
        lambda name: load_card(name, directory),
        "--models",
        "card names such as tiny-sdxl,tiny-pixart (see `aigi-scd list models`)",
    )
