"""Where and in what precision to run: cuda > mps > cpu; the card's half precision on GPUs, fp32 on CPU."""

from __future__ import annotations

import torch

from aigi_scd.errors import ConfigError

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def pick_device(requested: str | None = None) -> str:
    """The requested device if it exists, else the best available one."""
    if requested and requested != "auto":
        kind = requested.split(":")[0]
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        }
        if kind not in available:
            raise ConfigError(f"--device {requested!r}: expected auto, cpu, cuda, cuda:N or mps")
        if not available[kind]:
            raise ConfigError(f"--device {requested!r}: no {kind} device here; use --device auto or cpu")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(card_dtype: str, device: str, requested: str | None = None) -> torch.dtype:
    """fp32 on CPU (half precision there is slow or unsupported); the card's dtype on accelerators,
    with bf16 falling back to fp16 where the GPU lacks it. `requested` overrides both."""
    if requested and requested != "auto":
        if requested not in DTYPES:
            raise ConfigError(f"--dtype {requested!r}: expected auto, {', '.join(DTYPES)}")
        return DTYPES[requested]
    if device == "cpu":
        return torch.float32
    dtype = DTYPES[card_dtype]
    if dtype == torch.bfloat16:
        if device.startswith("mps"):
            return torch.float16
        if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            return torch.float16
    return dtype
