"""Will a model fit? Its weights' memory, estimated from its configs, against the device's free memory.

Every component a diffusers folder names in ``model_index.json`` is built from its ``config.json`` with
empty (meta) weights, so the estimate is the model's exact parameter and buffer count times the bytes of
the dtype it will load in (with the modules transformers and diffusers keep in float32 counted at 4
bytes). Nothing is downloaded but configs. The check runs before loading, so a model that cannot fit
stops in a second with one line naming the options that would fit, instead of a CUDA out-of-memory
traceback minutes later. Activations are not counted: a model whose weights fit may still run out of
memory at a large size or batch (the runner turns that into one line too).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

GIB = 1024**3
HALF = (torch.float16, torch.bfloat16)


@dataclass
class MemoryEstimate:
    """Bytes of the weights (parameters and buffers) of each component of a pipeline, in one dtype."""

    dtype: str
    components: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.components.values())

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.components.items(), key=lambda item: item[1]) if self.components else ("", 0)

    def breakdown(self) -> str:
        parts = sorted(self.components.items(), key=lambda item: -item[1])
        return ", ".join(f"{name} {gib(size)}" for name, size in parts)


def gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB" if size >= GIB / 10 else f"{size / 1024**2:.1f} MiB"


def _keep_in_float32(model, library: str, dtype: torch.dtype) -> set[str]:
    """Module names whose weights stay float32 when the rest loads in `dtype` (as the loaders decide)."""
    if dtype not in HALF:
        return set()
    keep = set(getattr(model, "_keep_in_fp32_modules_strict", None) or [])
    if library == "diffusers" or dtype == torch.float16:  # transformers keeps these for float16 only
        keep |= set(getattr(model, "_keep_in_fp32_modules", None) or [])
    return keep


def _tensor_bytes(named, dtype: torch.dtype, keep: set[str]) -> int:
    total = 0
    for name, tensor in named:
        if not tensor.is_floating_point():
            size = tensor.element_size()
        elif any(module in name for module in keep):
            size = 4
        else:
            size = dtype.itemsize
        total += tensor.numel() * size
    return total


def component_bytes(library: str, class_name: str, folder: Path, dtype: torch.dtype) -> int | None:
    """Bytes of one model component built from ``folder/config.json`` with empty weights; None when its
    class is not a model this can build (tokenizers, schedulers, unknown classes)."""
    from accelerate import init_empty_weights

    if library == "diffusers":
        import diffusers

        cls = getattr(diffusers, class_name, None)
        if cls is None or not hasattr(cls, "load_config") or not isinstance(cls, type):
            return None
        with init_empty_weights(include_buffers=True):
            model = cls.from_config(cls.load_config(folder))
    elif library == "transformers":
        import transformers

        cls = getattr(transformers, class_name, None)
        if cls is None or not hasattr(cls, "config_class"):
            return None
        config = transformers.AutoConfig.from_pretrained(folder)
        with init_empty_weights(include_buffers=True):
            model = cls(config)
    else:
        return None
    if not isinstance(model, torch.nn.Module):
        return None
    keep = _keep_in_float32(model, library, dtype)
    return _tensor_bytes(model.named_parameters(), dtype, keep) + _tensor_bytes(model.named_buffers(), dtype, keep)


def estimate_folder(folder: Path, dtype: torch.dtype) -> MemoryEstimate:
    """The weights' memory of the diffusers pipeline saved in `folder` (configs are enough) loaded in `dtype`."""
    folder = Path(folder)
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    estimate = MemoryEstimate(dtype=str(dtype).replace("torch.", ""))
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or None in spec:
            continue
        if not (folder / name / "config.json").is_file():
            continue
        size = component_bytes(spec[0], spec[1], folder / name, dtype)
        if size is not None:
            estimate.components[name] = size
    return estimate


def config_folder(location: str, revision: str | None = None) -> Path | None:
    """A folder holding `location`'s model_index.json and component configs: the folder itself when local,
    else the hub snapshot of just those small files (None when they cannot be had)."""
    if Path(location).is_dir():
        return Path(location)
    try:
        from huggingface_hub import snapshot_download

        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        folder = snapshot_download(
            location,
            revision=revision,
            allow_patterns=["model_index.json", "*/config.json"],
            local_files_only=offline,
        )
    except Exception:  # best effort: without configs there is no estimate, and the loader reports the reason
        return None
    return Path(folder) if (Path(folder) / "model_index.json").is_file() else None


def free_memory(device: str) -> int | None:
    """Bytes free on `device` now (cpu: available RAM), or None when it cannot be asked."""
    try:
        if device.startswith("cuda"):
            index = torch.device(device).index
            return torch.cuda.mem_get_info(index if index is not None else torch.cuda.current_device())[0]
        if device.startswith("mps"):
            return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
        import psutil

        return psutil.virtual_memory().available
    except Exception:  # an unknown backend: no check rather than a wrong one
        return None


def fit_problem(
    model: str,
    estimate: MemoryEstimate,
    device: str,
    offload: str,
    device_free: int | None,
    ram_free: int | None,
) -> str | None:
    """Why `model`'s weights cannot fit on `device` with `offload`, naming the options that would; None if they fit.

    Without offload everything sits on the device; ``model`` offload needs the largest component on the
    device and the rest in RAM; ``sequential`` needs little device memory and everything in RAM.
    """
    total, (largest_name, largest) = estimate.total, estimate.largest
    on_cpu = device == "cpu"
    need_device = {"none": total, "model": largest, "sequential": 0}[offload]
    need_ram = total if (on_cpu or offload != "none") else 0
    short_device = not on_cpu and device_free is not None and need_device > device_free
    short_ram = ram_free is not None and need_ram > ram_free
    if not (short_device or short_ram):
        return None
    weights = f"{model} needs about {gib(total)} for its weights in {estimate.dtype} ({estimate.breakdown()})"
    if on_cpu or (short_ram and not short_device):
        return (
            f"{weights} but this machine has {gib(ram_free or 0)} of RAM available"
            + ("" if on_cpu else f" (--offload {offload} keeps the weights in RAM)")
            + "; close other programs, use a machine with more memory, or a smaller model"
        )
    options = []
    if offload == "none" and largest <= device_free and (ram_free is None or total <= ram_free):
        options.append(f"--offload model ({gib(largest)} on {device} at a time: {largest_name})")
    if offload != "sequential" and (ram_free is None or total <= ram_free):
        options.append("--offload sequential (layer by layer; least GPU memory, slowest)")
    where = f"but {device} has {gib(device_free)} free"
    if options:
        return f"{weights} {where}; options that fit: " + " or ".join(options)
    return (
        f"{weights} {where}, and neither --offload model nor --offload sequential fits ({gib(ram_free or 0)} of RAM "
        "available); free memory or use a smaller model"
    )
