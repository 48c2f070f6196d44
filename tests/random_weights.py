"""Random-weight stand-ins for checkpoints that cannot be downloaded here, saved where the real loaders look."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def save_random_fid_inception() -> Path:
    """pyiqa's FID Inception architecture with random weights, at the path of pyiqa's cached checkpoint (inside
    the tests' private TORCH_HOME), so that `pyiqa.create_metric("fid")` loads it with its own code."""
    from pyiqa.archs import inception as arch
    from pyiqa.utils.download_util import DEFAULT_CACHE_DIR

    assert str(DEFAULT_CACHE_DIR).startswith(os.environ["TORCH_HOME"]), "tests must not touch the user's cache"
    path = Path(DEFAULT_CACHE_DIR) / Path(arch.FID_WEIGHTS_URL).name
    if path.is_file():
        return path
    torch.manual_seed(0)
    net = arch._inception_v3(num_classes=1008, aux_logits=False, pretrained=False)
    net.Mixed_5b = arch.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = arch.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = arch.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = arch.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = arch.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = arch.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = arch.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = arch.FIDInceptionE_1(1280)
    net.Mixed_7c = arch.FIDInceptionE_2(2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    return path
