"""Batched generation: many prompts per call, one seeded generator per image.

Each image gets its own CPU ``torch.Generator`` seeded from (build seed, prompt id, image index), so
its starting noise does not depend on the batch it ran in, on the device, or on the other images:
the seed in its json regenerates it alone (up to floating-point differences between batch sizes).
An out-of-memory error halves the batch and retries the same images, so a batch size that is too large costs
time, never images.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from aigi_scd.errors import DeviceError
from aigi_scd.pipelines.loading import LoadedPipeline
from aigi_scd.prompts.spec import PromptSpec

FAULT_OOM_ENV = "AIGI_SCD_FAULT_OOM"


def image_seed(build_seed: int, prompt_id: str, index: int) -> int:
    """A 31-bit seed that depends only on the build seed, the prompt and the image's index.

    The model is left out on purpose: every model starts from the same seed for the same prompt.
    """
    digest = hashlib.sha256(f"{build_seed}/{prompt_id}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def sample_key(model: str, prompt_id: str, seed: int) -> str:
    """``<model>-<prompt id>-<seed>``: no dots, since WebDataset and datasets split names at the first dot."""
    return f"{model}-{prompt_id}-{seed}"


@dataclass(frozen=True)
class WorkItem:
    """One image to generate."""

    model: str
    prompt: PromptSpec
    index: int
    seed: int

    @property
    def key(self) -> str:
        return sample_key(self.model, self.prompt.id, self.seed)


@dataclass
class GeneratedImage:
    """A pipeline output: uint8 RGB pixels, or None with the reason when the output was unusable."""

    item: WorkItem
    pixels: np.ndarray | None
    problem: str | None
    batch_seconds: float
    batch_size: int

    @property
    def seconds(self) -> float:
        return self.batch_seconds / self.batch_size


def plan_items(model: str, prompts: Sequence[PromptSpec], images_per_prompt: int, build_seed: int) -> list[WorkItem]:
    """Every image of one model, in a fixed order: prompt by prompt, index by index."""
    return [
        WorkItem(model=model, prompt=p, index=i, seed=image_seed(build_seed, p.id, i))
        for p in prompts
        for i in range(images_per_prompt)
    ]


def _to_uint8(image: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    if not np.isfinite(image).all():
        bad = int((~np.isfinite(image)).sum())
        return None, f"pipeline output has {bad} non-finite values (NaN/inf; often fp16 overflow: try --dtype float32)"
    return (np.clip(image, 0.0, 1.0) * 255.0).round().astype(np.uint8), None


def call_kwargs(loaded: LoadedPipeline, batch: Sequence[WorkItem]) -> dict:
    """The keyword arguments of one pipeline call for `batch` (the card's defaults and extras)."""
    call = loaded.card.call
    negatives = [item.prompt.negative or call.negative_prompt for item in batch]
    kwargs = dict(call.extra)
    kwargs.update(
        prompt=[item.prompt.text for item in batch],
        num_inference_steps=call.steps,
        guidance_scale=call.guidance,
        width=call.width,
        height=call.height,
        generator=[torch.Generator("cpu").manual_seed(item.seed) for item in batch],
        output_type="np",
    )
    if any(n is not None for n in negatives):
        kwargs["negative_prompt"] = [n or "" for n in negatives]
    return kwargs


@contextlib.contextmanager
def cpu_threads(loaded: LoadedPipeline) -> Iterator[None]:
    """One CPU thread for a tiny pipeline on the CPU: its tensors are too small to split, and a second
    thread's synchronisation tripled the CPU time of a build of every tiny card on two cores (measured:
    24 s single-threaded, 79 s with two). Real models keep torch's default."""
    if not (loaded.card.is_tiny and loaded.device == "cpu"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def out_of_memory_message(loaded: LoadedPipeline, batch: int, exc: BaseException) -> str:
    """One line for an out-of-memory during generation, naming the options that use less memory."""
    call, memory = loaded.card.call, loaded.memory
    options = [] if batch == 1 else ["--batch-size 1"]
    if not memory.vae_slicing and batch > 1:
        options.append("--vae-slicing")
    if not memory.vae_tiling:
        options.append("--vae-tiling")
    options += {"none": ["--offload model", "--offload sequential"], "model": ["--offload sequential"]}.get(
        memory.offload, []
    )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    tried = f" (offload {memory.offload})" if memory.offload != "none" else ""
    advice = f"; try {', '.join(options)}" if options else "; free the device or use a smaller model"
    return (
        f"{loaded.card.name} ran out of memory on {loaded.device}{tried} generating {batch} image(s) at "
        f"{call.width}x{call.height}: {first}{advice}"
    )


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.OutOfMemoryError (CUDA) or MPS's "out of memory" RuntimeError."""
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


class InjectedFaults:
    """Test hook: ``AIGI_SCD_FAULT_OOM=N`` makes the first N pipeline calls of more than one image raise an
    out-of-memory error, as a too-large batch on a GPU does. One counter per :func:`generate` call unless the
    caller shares one across calls (the build engine: one per model, across its shards)."""

    def __init__(self) -> None:
        try:
            self.left = max(0, int(os.environ.get(FAULT_OOM_ENV, "0")))
        except ValueError:
            self.left = 0

    def strike(self, images: int) -> bool:
        if self.left and images > 1:
            self.left -= 1
            return True
        return False


def _release_memory(loaded: LoadedPipeline) -> None:
    gc.collect()
    if loaded.device.startswith("cuda"):
        torch.cuda.empty_cache()


def generate(
    loaded: LoadedPipeline,
    items: Sequence[WorkItem],
    batch_size: int,
    *,
    pad: bool = False,
    on_smaller_batch: Callable[[int, str], None] | None = None,
    sizes: Sequence[int] | None = None,
    faults: InjectedFaults | None = None,
) -> Iterator[list[GeneratedImage]]:
    """Run `items` through the pipeline `batch_size` at a time, yielding each batch's images in item order.

    `sizes` replays a recorded grouping: the i-th call takes ``sizes[i]`` images (fewer at the end), so a shard
    made again is cut into the batches its first making used, whatever `batch_size` is now (images depend on
    their batch at the floating-point level). An out-of-memory error halves the batch and runs the same images
    again (nothing was yielded for them, so nothing is lost or made twice); the smaller size holds for the rest
    of `items` (a replay ends there), and `on_smaller_batch(size, reason)` hears of it. Only a single image that
    does not fit stops the run (one line naming what to try). `pad` fills a short batch with copies of its last
    image (outputs dropped): a compiled pipeline then always sees one batch shape. Each image records the size
    of the call that made it (:attr:`GeneratedImage.batch_size`).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    faults = faults if faults is not None else InjectedFaults()
    replay = [int(n) for n in sizes] if sizes else []
    if any(n < 1 for n in replay):
        raise ValueError("recorded batch sizes must be at least 1")
    size, start, calls_made = batch_size, 0, 0
    while start < len(items):
        if calls_made < len(replay):
            size = replay[calls_made]
        batch = items[start : start + size]
        calls = [*batch, *[batch[-1]] * (size - len(batch))] if pad else list(batch)
        began = time.perf_counter()
        try:
            if faults.strike(len(calls)):
                raise torch.OutOfMemoryError(f"CUDA out of memory (injected by {FAULT_OOM_ENV})")
            with cpu_threads(loaded):
                output = loaded.pipe(**call_kwargs(loaded, calls))
        except RuntimeError as exc:  # torch.OutOfMemoryError (CUDA) is one; MPS says "MPS backend out of memory"
            if not is_out_of_memory(exc):
                raise
            if len(calls) == 1:
                raise DeviceError(out_of_memory_message(loaded, 1, exc)) from exc
            _release_memory(loaded)
            size = max(1, len(calls) // 2)
            replay = []  # the recorded grouping no longer fits: the halved size holds from here on
            if on_smaller_batch is not None:
                on_smaller_batch(size, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
            continue
        images = np.asarray(output.images, dtype=np.float32)
        seconds = time.perf_counter() - began
        if images.ndim != 4 or images.shape[0] != len(calls):
            raise RuntimeError(
                f"{loaded.pipeline_class} returned images of shape {images.shape} for a batch of {len(calls)}"
            )
        results = []
        for item, image in zip(batch, images[: len(batch)], strict=True):
            pixels, problem = _to_uint8(image)
            results.append(GeneratedImage(item, pixels, problem, seconds, len(calls)))
        start += len(batch)
        calls_made += 1
        yield results
