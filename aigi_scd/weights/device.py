"""Where and in what precision to run: cuda > mps > cpu; the card's half precision on GPUs, fp32 on CPU.

torch is imported only when an answer needs it: on a Linux machine with no GPU device node at all, ``auto`` is the
CPU without importing it, so a process that never runs a model (`compress`'s main process when its workers encode and
score) does not carry torch's ~500 MB.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from aigi_scd.errors import ConfigError, DeviceError

if TYPE_CHECKING:
    import torch

DTYPES = ("float16", "bfloat16", "float32")
# Device nodes without which torch finds no accelerator on Linux: NVIDIA's, AMD ROCm's, WSL2's GPU.
_GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def _torch():
    import torch

    return torch


def _dtype(name: str) -> torch.dtype:
    return getattr(_torch(), name)


def no_gpu_here() -> bool:
    """True only where torch certainly sees no accelerator: Linux with none of the GPU device nodes, and torch not
    already imported (then it is asked instead). Anything else is asked of torch."""
    if "torch" in sys.modules or not sys.platform.startswith("linux"):
        return False
    return not any(os.path.exists(node) for node in _GPU_NODES)


def pick_device(requested: str | None = None) -> str:
    """The requested device if it exists, else the best available one."""
    if requested and requested != "auto":
        kind = requested.split(":")[0]
        if kind == "cpu":
            return requested
        if kind not in ("cuda", "mps"):
            raise ConfigError(f"--device {requested!r}: expected auto, cpu, cuda, cuda:N or mps")
        torch = _torch()
        available = {
            "cuda": torch.cuda.is_available(),
            "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        }
        if not available[kind]:
            raise ConfigError(f"--device {requested!r}: no {kind} device here; use --device auto or cpu")
        return requested
    if no_gpu_here():
        return "cpu"
    torch = _torch()
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def supports_bfloat16(device: str) -> bool:
    """Whether `device` computes in bfloat16 natively (CUDA: compute capability 8 or newer, or ROCm; MPS: macOS 14+).

    torch's default check also accepts emulated bf16 on older NVIDIA GPUs, which runs but slowly; a card
    that may fall back to fp16 is better served by fp16 there.
    """
    if device == "cpu":
        return True
    torch = _torch()
    if device.startswith("cuda"):
        index = torch.device(device).index
        if torch.version.hip:
            return True
        return torch.cuda.get_device_properties(index if index is not None else torch.cuda.current_device()).major >= 8
    if device.startswith("mps"):
        try:
            torch.ones(1, dtype=torch.bfloat16, device=device)
        except (RuntimeError, TypeError):
            return False
        return True
    return False


def pick_dtype(
    card_dtype: str,
    device: str,
    requested: str | None = None,
    *,
    fallback: bool = True,
    model: str = "this model",
    bf16_supported: bool | None = None,
) -> torch.dtype:
    """fp32 on CPU (half precision there is slow or unsupported); the card's dtype on accelerators.

    A bfloat16 card falls back to float16 on accelerators without bf16, unless `fallback` is False (the
    card's ``dtype_fallback: false``: float16 overflows in the model and gives wrong images), which stops
    with one line instead; an explicit ``--dtype float16`` for such a card stops too. `requested`
    (``--dtype``) overrides the rest. `bf16_supported` replaces the device query (tests).
    """
    forbidden = (
        f"{model} must not run in float16 (its card sets dtype_fallback: false: float16 overflows in it and "
        "gives wrong images)"
    )
    if requested and requested != "auto":
        if requested not in DTYPES:
            raise ConfigError(f"--dtype {requested!r}: expected auto, {', '.join(DTYPES)}")
        if requested == "float16" and card_dtype == "bfloat16" and not fallback:
            raise ConfigError(f"--dtype float16: {forbidden}; use --dtype bfloat16 or float32")
        return _dtype(requested)
    torch = _torch()
    if device == "cpu":
        return torch.float32
    dtype = _dtype(card_dtype)
    if dtype == torch.bfloat16:
        supported = supports_bfloat16(device) if bf16_supported is None else bf16_supported
        if not supported:
            if not fallback:
                raise DeviceError(
                    f"{forbidden}, and {device} has no bfloat16; run it on a GPU with bfloat16 (NVIDIA Ampere or "
                    "newer, AMD ROCm, Apple silicon on macOS 14+) or pass --dtype float32 (twice the memory)"
                )
            return torch.float16
    return dtype
