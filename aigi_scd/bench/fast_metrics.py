"""Metrics computed by another well-kept library than pyiqa, where that follows the field's convention or is much
faster with the same values (``benchmarks/bench_metrics.py`` measures both, and their largest difference).

- ``ms_ssim``: RGB MS-SSIM exactly as CompressAI's evaluation computes it (``compressai.utils.eval_model``): the
  8-bit images as 0–255 values, pytorch-msssim's ``ms_ssim`` with ``data_range=255`` (float32, separable 11-tap
  Gaussian window, five scales, per channel then averaged). pyiqa's ``ms_ssim`` scores the Y channel, in float64
  with a two-dimensional window, about 40 times slower.
- ``ms_ssim_y``: the Y-channel variant (pyiqa's former ``ms_ssim``: Y of YIQ, rounded to 8 bits), by the same
  pytorch-msssim code on that channel.
- ``ssim``: pyiqa's own SSIM (Y channel, MATLAB's convention) on float32 instead of the float64 its module casts
  to: the same formula, 11–13 times faster, values within 2e-5, a seventh of the memory.
- ``vsi``: piq's VSI, 2.4 times faster than pyiqa's (float64) with values within 1e-6.
- ``fsim``: pyiqa's own FSIM with its log-Gabor filters built once per image size instead of once per call
  (the same numbers; 15% less time on one thread).

Measured (``benchmarks/bench_metrics.py``, one thread, seconds per megapixel, largest difference from pyiqa over
Kodak pairs): ms_ssim 24.8 → 0.30 (6.3e-4 from pyiqa's RGB MS-SSIM: pytorch-msssim averages channels after the
product over scales, pyiqa before it), ms_ssim_y 4.8 → 0.25 (2.9e-5), ssim 3.9 → 0.35 (1.2e-5), vsi 0.35 → 0.15
(1.5e-7), fsim 0.79 → 0.68 (equal). psnr, gmsd, nlpd and piqe stay pyiqa's: nothing measured faster with the same
values (piq's GMSD differs by 2e-4; its FSIM is no faster).

Inputs are what :func:`aigi_scd.iqa.pixels_to_tensor` makes: float tensors (N, 3, H, W) in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

# The smallest side pytorch-msssim's five-scale MS-SSIM accepts: (11 - 1) * 2**4, exclusive.
MS_SSIM_MIN_SIDE = 161


def _eight_bit(x):
    """[0, 1] floats of 8-bit images → the 0–255 values CompressAI's evaluation scores (exact: x·255 rounded)."""
    return (x * 255).clamp(0, 255).round()


def ms_ssim_rgb(rec, ref):
    """RGB MS-SSIM per image (CompressAI's convention)."""
    from pytorch_msssim import ms_ssim

    return ms_ssim(_eight_bit(rec), _eight_bit(ref), data_range=255, size_average=False)


def y_channel(x):
    """pyiqa's Y channel (of YIQ, as its SSIM and MS-SSIM read RGB), rounded to 8-bit values."""
    from pyiqa.utils.color_util import to_y_channel

    return to_y_channel(x, 255)


def ms_ssim_y(rec, ref):
    """Y-channel MS-SSIM per image (the channel pyiqa's ``ms_ssim`` scores)."""
    from pytorch_msssim import ms_ssim

    return ms_ssim(y_channel(rec), y_channel(ref), data_range=255, size_average=False)


def ssim_y(rec, ref):
    """pyiqa's SSIM function on its Y channel, in float32."""
    from pyiqa.archs.ssim_arch import ssim

    return ssim(y_channel(rec), y_channel(ref), data_range=255)


def vsi(rec, ref):
    """piq's VSI (visual saliency-induced index) on [0, 1] RGB."""
    import piq

    return piq.vsi(rec, ref, data_range=1.0, reduction="none")


_FILTERS: dict[tuple, object] = {}  # pyiqa FSIM's log-Gabor filters for the last image size (64 MB at 1024²)


def _cached_filters(construct):
    """pyiqa's FSIM filter construction, remembered for the last (size, dtype, device, options): the filters depend
    on nothing else, and building them is 40% of an FSIM call."""

    def cached(x, *args, **kwargs):
        key = (tuple(x.shape[-2:]), x.dtype, str(x.device), args, tuple(sorted(kwargs.items())))
        if key not in _FILTERS:
            _FILTERS.clear()
            _FILTERS[key] = construct(x, *args, **kwargs)
        return _FILTERS[key]

    return cached


def fsim(rec, ref):
    """pyiqa's FSIM (chromatic, its defaults) with its filters built once per image size instead of once per call:
    the same numbers (pyiqa's own code runs), 40% less time."""
    from pyiqa.archs import fsim_arch

    construct = fsim_arch._construct_filters
    fsim_arch._construct_filters = _cached_filters(construct)
    try:
        return fsim_arch.fsim(rec, ref)
    finally:
        fsim_arch._construct_filters = construct


# name → (function of (reconstructions, originals) → one value per image, the smallest side it accepts)
FAST: dict[str, tuple[Callable, int]] = {
    "ms_ssim": (ms_ssim_rgb, MS_SSIM_MIN_SIDE),
    "ms_ssim_y": (ms_ssim_y, MS_SSIM_MIN_SIDE),
    "ssim": (ssim_y, 1),
    "vsi": (vsi, 1),
    "fsim": (fsim, 1),
}
