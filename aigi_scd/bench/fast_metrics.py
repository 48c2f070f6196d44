"""Metrics computed by another well-kept library than pyiqa, where that follows the field's convention or is much
faster with the same values (``benchmarks/bench_metrics.py`` measures both, and their largest difference).

- ``ms_ssim``: RGB MS-SSIM exactly as CompressAI's evaluation computes it (``compressai.utils.eval_model``): the
  8-bit images as 0–255 values, pytorch-msssim's ``ms_ssim`` with ``data_range=255`` (float32, separable 11-tap
  Gaussian window, five scales, per channel then averaged). pyiqa's ``ms_ssim`` scores the Y channel, in float64
  with a two-dimensional window, about 40 times slower.
- ``ms_ssim_y``: the Y-channel variant (pyiqa's former ``ms_ssim``: Y of YIQ, rounded to 8 bits), by the same
  pytorch-msssim code on that channel.
- ``ssim``: pyiqa's own SSIM (Y channel, MATLAB's convention) on float32 instead of the float64 its module casts
  to: the same formula, 11–13 times faster, values within 6e-5, a seventh of the memory.
- ``vsi``: piq's VSI, 2.4 times faster than pyiqa's (float64) with values within 1e-6.
- ``fsim``, ``vsi``, ``nlpd``: the original's side of the metric (phase congruency, saliency, Laplacian pyramid)
  computed once per image for all its reconstructions (:class:`RecentResults`), FSIM's filters once per size: the
  libraries' own code computes every number.

Measured (``benchmarks/bench_metrics.py``, one thread, seconds per megapixel, largest difference from pyiqa over
Kodak pairs): ms_ssim 24.8 → 0.30 (6.3e-4 from pyiqa's RGB MS-SSIM: pytorch-msssim averages channels after the
product over scales, pyiqa before it), ms_ssim_y 4.8 → 0.25 (8.8e-5), ssim 3.9 → 0.35 (5.5e-5), vsi 0.35 → 0.15
(2e-7); fsim (pyiqa's code, the original's side once) 1.29 → 0.79 and nlpd likewise, with every second pair
reusing its original (equal values). psnr, gmsd and piqe stay pyiqa's as they are: nothing measured faster with the
same values (piq's GMSD differs by 2e-4; piq's FSIM is no faster than pyiqa's). Memory per call at 1024²: pyiqa's
float64 SSIM and MS-SSIM 1.1–1.4 GB, the implementations here 170–270 MB.

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


class RecentResults:
    """A function of one image tensor, remembering its results for the last `size` distinct inputs (by content).

    Every reconstruction of an image is scored against the same original, so the original's side of a metric (its
    phase congruency for FSIM, its saliency map for VSI, its Laplacian pyramid for NLPD) is the same computation each
    time: remembered, it is done once per image. The library's own function computes every result, so the scores are
    the ones it gives; the results are shared, which is safe for the callers here (they do not change them in place).
    """

    def __init__(self, function: Callable, size: int = 2, by_shape: bool = False):
        self.function, self.size, self.by_shape = function, size, by_shape  # by_shape: the result depends on no pixel
        self.results: dict[tuple, object] = {}

    def __call__(self, x, *args, **kwargs):
        import hashlib

        key = (tuple(x.shape), str(x.dtype), str(x.device), args, tuple(sorted(kwargs.items())))
        if not self.by_shape:
            key += (hashlib.blake2b(x.detach().contiguous().cpu().numpy().tobytes(), digest_size=16).digest(),)
        if key in self.results:
            self.results[key] = self.results.pop(key)  # the most recent last
        else:
            self.results[key] = self.function(x, *args, **kwargs)
            while len(self.results) > self.size:
                self.results.pop(next(iter(self.results)))
        return self.results[key]


def _patched(module, name: str, memo: dict[str, RecentResults], by_shape: bool = False):
    """`module.name` replaced, for one call, by its remembering twin (kept across calls in `memo`)."""
    import contextlib

    @contextlib.contextmanager
    def patch():
        original = getattr(module, name)
        if name not in memo or memo[name].function is not original:
            memo[name] = RecentResults(original, size=1 if by_shape else 2, by_shape=by_shape)
        setattr(module, name, memo[name])
        try:
            yield
        finally:
            setattr(module, name, original)

    return patch()


_MEMO: dict[str, RecentResults] = {}


def fsim(rec, ref):
    """pyiqa's FSIM (chromatic, its defaults), with the original's phase congruency computed once per image and the
    log-Gabor filters once per image size (they depend on nothing else): pyiqa's numbers, about half the time."""
    from pyiqa.archs import fsim_arch

    filters = _patched(fsim_arch, "_construct_filters", _MEMO, by_shape=True)  # 64 MB kept at 1024²
    with _patched(fsim_arch, "_phase_congruency", _MEMO), filters:
        return fsim_arch.fsim(rec, ref)


def vsi(rec, ref):
    """piq's VSI (visual saliency-induced index) on [0, 1] RGB, the original's saliency map computed once per image."""
    import sys

    import piq  # noqa: F401  (imports piq.vsi, the module of the function)

    with _patched(sys.modules["piq.vsi"], "sdsp", _MEMO):
        return sys.modules["piq.vsi"].vsi(rec, ref, data_range=1.0, reduction="none")


def remember_reference_side(name: str, metric) -> None:
    """For pyiqa metrics created by the Scorer: NLPD's Laplacian pyramid of the original computed once per image."""
    if name == "nlpd" and hasattr(metric, "net") and hasattr(metric.net, "pyramid"):
        metric.net.pyramid = RecentResults(metric.net.pyramid)


# name → (function of (reconstructions, originals) → one value per image, the smallest side it accepts)
FAST: dict[str, tuple[Callable, int]] = {
    "ms_ssim": (ms_ssim_rgb, MS_SSIM_MIN_SIDE),
    "ms_ssim_y": (ms_ssim_y, MS_SSIM_MIN_SIDE),
    "ssim": (ssim_y, 1),
    "vsi": (vsi, 1),
    "fsim": (fsim, 1),
}
