"""Metrics computed by another well-kept library than pyiqa, where that follows the field's convention or is much
faster with the same values (``benchmarks/bench_metrics.py`` measures both, and their largest difference).

- ``ms_ssim``: RGB MS-SSIM exactly as CompressAI's evaluation computes it (``compressai.utils.eval_model``): the
  8-bit images as 0–255 values, pytorch-msssim's ``ms_ssim`` with ``data_range=255`` (float32, separable 11-tap
  Gaussian window, five scales, per channel then averaged), step for step with its own filter, window and weights
  (the same numbers: tests/test_metrics.py asserts equality), the original's side of each scale once per image.
  pyiqa's ``ms_ssim`` scores the Y channel, in float64 with a two-dimensional window, about 40 times slower.
- ``ms_ssim_y``: the Y-channel variant (pyiqa's former ``ms_ssim``: Y of YIQ, rounded to 8 bits), by pytorch-msssim
  on that channel.
- ``ssim``: pyiqa's SSIM formula (Y channel, MATLAB's convention) on float32 instead of the float64 its module casts
  to, its 11×11 Gaussian window applied as two 11-tap passes (the window is their outer product), the original's
  side once per image: values within 1e-5 of pyiqa's, a ninth of the memory.
- ``vsi``: piq's VSI, 1.6–2.4 times faster than pyiqa's (float64) with values within 1e-6.
- ``fsim``, ``vsi``, ``nlpd``: the original's side of the metric (phase congruency, saliency, Laplacian pyramid)
  computed once per image for all its reconstructions (:class:`RecentResults`), FSIM's filters once per size: the
  libraries' own code computes every number.
- Every metric that reads the Y channel (SSIM, GMSD, NLPD, PIQE) shares pyiqa's RGB→YIQ conversion of each tensor
  within one Scorer call (:func:`shared_colour_conversion`); pyiqa's input-range check is off (the Scorer makes
  every input from 8-bit pixels).

Measured (``benchmarks/bench_metrics.py --count 6 --repeat 2``, one thread, seconds per megapixel, largest difference
from pyiqa over 12 Kodak pairs, each original's tensor shared by its two pairs as compress shares it): ms_ssim 25.4
→ 0.13 (pytorch-msssim's own call 0.22; 6.3e-4 from pyiqa's RGB MS-SSIM: pytorch-msssim averages channels after the
product over scales, pyiqa before it), ms_ssim_y 5.3 → 0.17 (2.9e-5), ssim 4.4 → 0.12 (9.4e-6), vsi 0.36 → 0.22
(1.5e-7), fsim 0.58 → 0.38 and nlpd 0.27 → 0.20 (equal values). psnr, gmsd and piqe stay pyiqa's: nothing measured
faster with the same values (piq's GMSD differs by 6e-4; piq's FSIM is no faster than pyiqa's). Peak memory one
call adds at 1024²: pyiqa's float64 SSIM and MS-SSIM 1.1–1.3 GB, the implementations here 100–170 MB; what is kept
of an original between calls at 1024² is about 50 MB (MS-SSIM's five scales) and 12 MB (SSIM).

Inputs are what :func:`aigi_scd.iqa.pixels_to_tensor` makes: float tensors (N, 3, H, W) in [0, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Callable

# The smallest side pytorch-msssim's five-scale MS-SSIM accepts: (11 - 1) * 2**4, exclusive.
MS_SSIM_MIN_SIDE = 161


def _eight_bit(x):
    """[0, 1] floats of 8-bit images → the 0–255 values CompressAI's evaluation scores (exact: x·255 rounded)."""
    return (x * 255).clamp(0, 255).round()


SSIM_CONSTANTS = ((0.01 * 255) ** 2, (0.03 * 255) ** 2)  # C1, C2 of both libraries for 8-bit values
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # pytorch-msssim's (Wang et al.'s) five scales


def _local_statistics(y, blur):
    """What SSIM takes of the original alone: the image, its local means and local variances."""
    mu = blur(y)
    return y, mu, blur(y * y).sub_(mu.pow(2))


def _ssim_maps(x, reference, blur, c1: float, c2: float, clip_cs: bool):
    """SSIM's contrast-structure and SSIM maps of `x` against the original's :func:`_local_statistics`, with the
    libraries' formula in their order of operations (``cs = (2σxy + C2) / (σx² + σy² + C2)``, ``ssim = (2μxμy + C1) /
    (μx² + μy² + C1) · cs``), each intermediate overwritten once it is used (the same numbers, half the memory);
    `clip_cs`: negative cs values clipped at 0 before the product (pyiqa's SSIM)."""
    y, mu2, sigma2_sq = reference
    mu1 = blur(x)
    mu1_sq = mu1.pow(2)
    sigma1_sq = blur(x * x).sub_(mu1_sq)
    mu1_mu2 = mu1.mul_(mu2)
    cs_map = blur(x * y).sub_(mu1_mu2).mul_(2).add_(c2).div_(sigma1_sq.add_(sigma2_sq).add_(c2))
    del sigma1_sq
    if clip_cs:
        cs_map = cs_map.relu_()
    ssim_map = mu1_mu2.mul_(2).add_(c1).div_(mu1_sq.add_(mu2.pow(2)).add_(c1)).mul_(cs_map)
    return cs_map, ssim_map


def _ms_ssim_reference_side(ref):
    """What pytorch-msssim's MS-SSIM computes of the original alone, at each of its scales: the image (8-bit values,
    then halved by 2×2 averages), its local means and variances (11-tap Gaussian, σ 1.5, 'valid')."""
    import torch.nn.functional as F
    from pytorch_msssim.ssim import _fspecial_gauss_1d, gaussian_filter

    y = _eight_bit(ref)
    win = _fspecial_gauss_1d(11, 1.5).repeat([y.shape[1], 1, 1, 1]).to(y.device, dtype=y.dtype)
    scales = []
    for i in range(len(MS_SSIM_WEIGHTS)):
        scales.append(_local_statistics(y, functools.partial(gaussian_filter, win=win)))
        if i < len(MS_SSIM_WEIGHTS) - 1:
            y = F.avg_pool2d(y, kernel_size=2, padding=[s % 2 for s in y.shape[2:]])
    return win, scales


def ms_ssim_rgb(rec, ref):
    """RGB MS-SSIM per image (CompressAI's convention): pytorch-msssim's ``ms_ssim(rec, ref, data_range=255,
    size_average=False)`` on the 8-bit values, step for step (its ``gaussian_filter`` and window, its constants,
    scales, clipping and weights: the same numbers), with the original's side of every scale computed once per
    original tensor (:data:`MS_SSIM_REFERENCE_SIDE`); tests/test_metrics.py checks it against the library's call."""
    import torch
    import torch.nn.functional as F
    from pytorch_msssim.ssim import gaussian_filter

    win, scales = MS_SSIM_REFERENCE_SIDE(ref)
    blur = functools.partial(gaussian_filter, win=win)
    x = _eight_bit(rec)
    mcs = []
    for i, reference in enumerate(scales):
        cs_map, ssim_map = _ssim_maps(x, reference, blur, *SSIM_CONSTANTS, clip_cs=False)
        if i < len(scales) - 1:
            mcs.append(torch.relu(torch.flatten(cs_map, 2).mean(-1)))
            x = F.avg_pool2d(x, kernel_size=2, padding=[s % 2 for s in x.shape[2:]])
        del cs_map
    ssim_per_channel = torch.relu(torch.flatten(ssim_map, 2).mean(-1))
    weights = x.new_tensor(MS_SSIM_WEIGHTS)
    return torch.prod(torch.stack([*mcs, ssim_per_channel], dim=0) ** weights.view(-1, 1, 1), dim=0).mean(1)


def y_channel(x):
    """pyiqa's Y channel (of YIQ, as its SSIM and MS-SSIM read RGB), rounded to 8-bit values."""
    from pyiqa.utils.color_util import to_y_channel

    return to_y_channel(x, 255)


def ms_ssim_y(rec, ref):
    """Y-channel MS-SSIM per image (the channel pyiqa's ``ms_ssim`` scores)."""
    from pytorch_msssim import ms_ssim

    return ms_ssim(y_channel(rec), y_channel(ref), data_range=255, size_average=False)


def _gaussian_taps(like):
    """The 11 taps whose outer product is pyiqa's SSIM window (``fspecial(11, 1.5)``, a normalised Gaussian: its row
    sums are the normalised 1-D Gaussian; the product differs from the window by under 1e-8)."""
    from pyiqa.matlab_utils import fspecial

    return fspecial(11, 1.5, 1)[0, 0].sum(1).to(like)


def _blur(x, taps):
    """pyiqa's ``filter2(x, window, 'valid')`` for its Gaussian window, as two 11-tap passes (a fifth of the work)."""
    import torch.nn.functional as F

    return F.conv2d(F.conv2d(x, taps.view(1, 1, -1, 1)), taps.view(1, 1, 1, -1))


def _ssim_reference_side(ref):
    """What SSIM computes of the original alone: the 11 taps, its Y channel, local means and variances."""
    y = y_channel(ref)
    taps = _gaussian_taps(y)
    return taps, _local_statistics(y, functools.partial(_blur, taps=taps))


def ssim_y(rec, ref):
    """pyiqa's SSIM (``ssim_arch.ssim`` on the Y channel, MATLAB's convention: 11×11 Gaussian window σ 1.5, 'valid'
    borders, negative contrast-structure terms clipped at 0, no downsampling), in float32 with the window applied as
    two 11-tap passes, and the original's side computed once per original tensor (:data:`REFERENCE_SIDE`)."""
    taps, reference = REFERENCE_SIDE(ref)
    blur = functools.partial(_blur, taps=taps)
    _, ssim_map = _ssim_maps(y_channel(rec), reference, blur, *SSIM_CONSTANTS, clip_cs=True)
    return ssim_map.mean([1, 2, 3])


class RecentResults:
    """A function of one image tensor, remembering its results for the last `size` distinct inputs.

    Every reconstruction of an image is scored against the same original, so the original's side of a metric (its
    phase congruency for FSIM, its saliency map for VSI, its Laplacian pyramid for NLPD, its local statistics for
    SSIM) is the same computation each time: remembered, it is done once per image. The library's own function
    computes every result, so the scores are the ones it gives; the results are shared, which is safe for the
    callers here (they do not change them in place).

    `by` says what makes two inputs the same: ``"content"`` (equal shape, dtype and values: the input is held beside
    its result and compared whole, which costs a tenth of hashing its bytes), ``"identity"`` (the same tensor object,
    unchanged since: for inputs the Scorer passes again as they are), or ``"shape"`` (the result depends on no
    pixel). Held inputs keep their ids their own while their results are remembered.
    """

    def __init__(self, function: Callable, size: int = 2, by: str = "content"):
        if by not in ("content", "identity", "shape"):
            raise ValueError(f"by must be content, identity or shape, not {by!r}")
        self.function, self.size, self.by = function, size, by
        self.results: list[tuple[tuple, object, int, object]] = []  # (key, input, its version, result), latest last

    def _same(self, held, version: int, x) -> bool:
        import torch

        if self.by == "shape":
            return True
        if held._version != version:  # changed in place since: no longer what the result was computed from
            return False
        return held is x or (self.by == "content" and bool(torch.equal(held, x)))

    def __call__(self, x, *args, **kwargs):
        key = (tuple(x.shape), str(x.dtype), str(x.device), args, tuple(sorted(kwargs.items())))
        for i in range(len(self.results) - 1, -1, -1):
            held_key, held, version, result = self.results[i]
            if held_key == key and self._same(held, version, x):
                self.results.append(self.results.pop(i))
                return result
        result = self.function(x, *args, **kwargs)
        held = None if self.by == "shape" else x
        self.results.append((key, held, 0 if held is None else x._version, result))
        del self.results[: -self.size]
        return result


def _patched(module, name: str, memo: dict[str, RecentResults], by: str = "content", size: int = 2):
    """`module.name` replaced, for one call, by its remembering twin (kept across calls in `memo`)."""
    import contextlib

    @contextlib.contextmanager
    def patch():
        original = getattr(module, name)
        if name not in memo or memo[name].function is not original:
            memo[name] = RecentResults(original, size=size, by=by)
        setattr(module, name, memo[name])
        try:
            yield
        finally:
            setattr(module, name, original)

    return patch()


_MEMO: dict[str, RecentResults] = {}
# SSIM's side of the original, once per original tensor (the Scorer passes the same one for each reconstruction).
REFERENCE_SIDE = RecentResults(_ssim_reference_side, size=1, by="identity")
MS_SSIM_REFERENCE_SIDE = RecentResults(_ms_ssim_reference_side, size=1, by="identity")


def shared_colour_conversion():
    """For one Scorer call: pyiqa's RGB→YIQ conversion (behind ``to_y_channel``, which SSIM, GMSD, NLPD and PIQE
    each call on the same reconstruction and original) done once per tensor, and forgotten when the call ends (a
    worker keeps no image's colour planes between calls). pyiqa's function computes each result, so the scores are
    unchanged."""
    from pyiqa.utils import color_util

    return _patched(color_util, "rgb2yiq", {}, by="identity", size=2)


def fsim(rec, ref):
    """pyiqa's FSIM (chromatic, its defaults), with the original's phase congruency computed once per image and the
    log-Gabor filters once per image size (they depend on nothing else): pyiqa's numbers, about half the time."""
    from pyiqa.archs import fsim_arch

    filters = _patched(fsim_arch, "_construct_filters", _MEMO, by="shape", size=1)  # 64 MB kept at 1024²
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
