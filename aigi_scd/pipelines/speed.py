"""How fast a loaded pipeline runs on an accelerator: batch size, fused QKV, channels_last, torch.compile, CUDA graphs.

A card's ``speed:`` section says what its model supports; the command line overrides it. The settings apply on
CUDA devices (elsewhere they are recorded as off unless forced) and never change which image a (prompt, seed,
model, steps) gives beyond floating-point noise: they change the order of arithmetic, not the computation.
Every sample records them as applied. torch.compile keeps its compiled kernels in a cache folder
(``<cache>/torch-compile``, TORCHINDUCTOR_CACHE_DIR) so that a second run skips most of the compile time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

AUTO = "auto"
DEFAULT_CPU_BATCH = 4  # prompts per call where there is no device memory to measure
MAX_AUTO_BATCH = 16  # beyond this a bigger batch gains nothing on an H100 and delays the first shard
MEMORY_MARGIN = 0.85  # fraction of free device memory the batch may use (allocator fragmentation, other tensors)


@dataclass(frozen=True)
class SpeedOptions:
    """A card's ``speed:`` section (all off by default) or the settings as applied to one loaded pipeline.

    ``batch_size``: prompts per pipeline call, or ``auto`` (the most that fit the device's free memory,
    measured with a one-step probe, at most 16; 4 on the CPU). ``fuse_qkv``: one matmul for the query, key and
    value projections of every attention layer. ``channels_last``: the denoiser's and decoder's convolutions in
    NHWC. ``compile``: torch.compile the denoiser and the decoder (fullgraph). ``cuda_graphs``: with compile,
    replay each step as a CUDA graph (mode reduce-overhead; needs static shapes, so short batches are padded).
    """

    batch_size: int | Literal["auto"] = AUTO
    fuse_qkv: bool = False
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.batch_size != AUTO and (not isinstance(self.batch_size, int) or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive number or 'auto', got {self.batch_size!r}")
        if self.cuda_graphs and not self.compile:
            raise ValueError("cuda_graphs needs compile: true (CUDA graphs are captured by torch.compile)")

    def record(self) -> dict[str, Any]:
        """What each sample records (as applied)."""
        return {
            "fuse_qkv": self.fuse_qkv,
            "channels_last": self.channels_last,
            "compile": self.compile,
            "cuda_graphs": self.cuda_graphs,
        }


def resolve_speed(card_options: SpeedOptions, device: str, **overrides: Any) -> SpeedOptions:
    """The options for `device`: the card's on CUDA, all off elsewhere; then every override that is not None."""
    base = card_options if device.startswith("cuda") else SpeedOptions(batch_size=card_options.batch_size)
    chosen = {k: v for k, v in overrides.items() if v is not None}
    options = replace(base, **chosen)
    if options.cuda_graphs and not options.compile:
        options = replace(options, compile=True)
    return options


def denoiser_name(pipe: Any) -> str | None:
    """The attribute holding the pipeline's denoiser (a UNet or a transformer)."""
    return next((name for name in ("unet", "transformer", "prior") if getattr(pipe, name, None) is not None), None)


def compile_cache_dir(cache_dir: Path | None) -> Path:
    from aigi_scd.weights.tiny import default_cache_dir

    return Path(cache_dir or default_cache_dir()) / "torch-compile"


def apply_speed(pipe: Any, options: SpeedOptions, decoder_name: str, cache_dir: Path | None = None) -> SpeedOptions:
    """Apply fused QKV, channels_last and torch.compile to a placed pipeline; returns what was applied (a model
    without fusable attention keeps ``fuse_qkv: false``)."""
    import torch

    name = denoiser_name(pipe)
    denoiser = getattr(pipe, name) if name else None
    decoder = getattr(pipe, decoder_name, None)
    applied = options
    if options.fuse_qkv:
        fused = False
        for module in (denoiser, decoder):
            if module is not None and hasattr(module, "fuse_qkv_projections"):
                module.fuse_qkv_projections()
                fused = True
        applied = replace(applied, fuse_qkv=fused)
    if options.channels_last:
        for module in (denoiser, decoder):
            if isinstance(module, torch.nn.Module):
                module.to(memory_format=torch.channels_last)
    if options.compile and denoiser is not None:
        folder = compile_cache_dir(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
        import torch._inductor.config as inductor_config

        inductor_config.fx_graph_cache = True
        # "default": max-autotune's GEMM search takes many minutes on an SDXL UNet, and default mode already
        # ran at 76% of the floor on an H200 (benchmarks/bench_generate.py); CUDA graphs are opt-in.
        mode = "reduce-overhead" if options.cuda_graphs else "default"
        setattr(pipe, name, torch.compile(denoiser, mode=mode, fullgraph=True))
        if decoder is not None and hasattr(decoder, "decode"):
            decoder.decode = torch.compile(decoder.decode, mode=mode, fullgraph=True)
    return applied


def probe_batch_size(call, device: str, cap: int = MAX_AUTO_BATCH) -> int:
    """The largest batch that fits the free memory of `device`: `call(n)` runs a one-step pipeline call with n
    images; the peak memory of 1 and 2 images gives the cost of one more image. CPU and MPS: 4."""
    import torch

    if not device.startswith("cuda"):
        return DEFAULT_CPU_BATCH
    index = torch.device(device).index
    torch.cuda.synchronize(device)
    peaks = []
    for n in (1, 2):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        try:
            call(n)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            return 1  # a single image is all that may fit: generation says so in one line if not even that
        torch.cuda.synchronize(device)
        peaks.append(torch.cuda.max_memory_allocated(device) - base)
    per_image = max(peaks[1] - peaks[0], 1)
    fixed = max(peaks[0] - per_image, 0)
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(index)
    fits = int((free * MEMORY_MARGIN - fixed) // per_image)
    return max(1, min(cap, fits))
