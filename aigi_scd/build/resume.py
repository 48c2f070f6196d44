"""What a resumed build may trust: finished shards whose tars still match their stats files, made on the
same kind of device in the same precision as this run will use.

A stats file marks a shard done, but only its tars hold the samples: a shard whose tar was cut short,
lost or altered is made again (with a warning), never trusted. Shards made in float16 on a GPU and
shards made in float32 on a CPU are different images of the same seeds, so mixing them in one build is
refused with the options that would match.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aigi_scd.dataset.integrity import resumable_shards
from aigi_scd.errors import ConfigError


def device_kind(device: str | None) -> str | None:
    """``cuda:1`` → ``cuda``: shards from two GPUs of one kind mix fine; a CPU's and a GPU's do not."""
    return device.split(":")[0] if device else None


def check_same_runtime(model: str, done: dict[int, dict[str, Any]], device: str, dtype: str) -> None:
    """Refuse to add shards made on another kind of device or in another precision than the finished ones."""
    for index, stats in sorted(done.items()):
        was_device, was_dtype = device_kind(stats.get("device")), stats.get("dtype")
        if (was_device and was_device != device_kind(device)) or (was_dtype and was_dtype != dtype):
            raise ConfigError(
                f"{model}: the finished shards were made on {was_device} in {was_dtype} (shard {index}), but this "
                f"run would use {device_kind(device)} in {dtype}, mixing two kinds of images in one build. "
                f"Resume with --device {was_device} --dtype {was_dtype}, or pass --overwrite to start again"
            )


def shards_to_skip(
    out: Path, model: str, device: str, dtype: str, warn: Callable[[str], None] | None = None
) -> dict[int, dict[str, Any]]:
    """Index → stats of the shards of `model` a resumed run skips (see the module docstring)."""
    done = resumable_shards(out, model, warn)
    check_same_runtime(model, done, device, dtype)
    return done
