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
- Both SSIMs apply their 1-D Gaussian as shifted multiply-adds in tap order (:func:`separable_blur`), not conv2d,
  which takes one channel through im2col on the CPU: the same floats as pytorch-msssim's grouped conv2d.
- ``vsi``: piq's VSI, 1.6–2.4 times faster than pyiqa's (float64) with values within 1e-6, re-stated step for step
  (:func:`vsi`: the same numbers) so that the original's side (saliency, colour planes, gradient) is computed once.
- ``fsim``, ``gmsd``: pyiqa's, re-stated step for step (``bench/pyiqa_restated.py``: the same numbers, bit for bit)
  so that the original's side (FSIM: its downsampling, colour planes, phase congruency and gradient; GMSD: its
  gradient magnitude) is computed once per image for all its reconstructions (:class:`RecentResults`); FSIM's phase
  congruency re-stated too so that its filters' terms are computed once per size.
- ``nlpd``: the original's Laplacian pyramid computed once per image by pyiqa's own code.
- Every metric that reads the Y channel (SSIM, GMSD, NLPD, PIQE) shares pyiqa's RGB→YIQ conversion of each tensor
  within one Scorer call (:func:`shared_colour_conversion`); pyiqa's input-range check is off (the Scorer makes
  every input from 8-bit pixels).

Measured (``benchmarks/bench_metrics.py --count 6 --repeat 2``, one thread, seconds per megapixel, largest difference
from pyiqa over 12 Kodak pairs, each original's tensor shared by its two pairs as compress shares it; the last run,
with the window's passes as multiply-adds and FSIM and GMSD re-stated): ms_ssim 18.57 → 0.08 (pytorch-msssim's own
call 0.12; 6.3e-4 from pyiqa's RGB MS-SSIM: pytorch-msssim averages channels after the product over scales, pyiqa
before it), ms_ssim_y 4.30 → 0.15 (2.9e-5), ssim 3.22 → 0.04 (9.4e-6), vsi 0.22 → 0.11 (1.5e-7), fsim 0.32 → 0.15
(0.33 → 0.14 with phase congruency's sums in place, ``--only fsim``), gmsd 0.05 → 0.03 and nlpd 0.15 → 0.13 (equal
values; piq's FSIM 0.31–0.34, piq's GMSD 0.06 and 6e-4 apart). psnr and
piqe stay pyiqa's: nothing measured faster with the same values. Peak memory one call adds at 1024²: pyiqa's float64
SSIM and MS-SSIM 1.1–1.3 GB, the implementations here 100–170 MB; what is kept of an original between calls at 1024² is
about 50 MB (MS-SSIM's five scales) and 12 MB (SSIM).

Inputs are what :func:`aigi_scd.iqa.pixels_to_tensor` makes: float tensors (N, 3, H, W) in [0, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from aigi_scd.bench.pyiqa_restated import fsim, gmsd
from aigi_scd.bench.recent_results import RecentResults, _patched

# The smallest side pytorch-msssim's five-scale MS-SSIM accepts: (11 - 1) * 2**4, exclusive.
MS_SSIM_MIN_SIDE = 161


def _eight_bit(x):
    """[0, 1] floats of 8-bit images → the 0–255 values CompressAI's evaluation scores (exact: x·255 rounded)."""
    return (x * 255).clamp(0, 255).round()


def separable_blur(x, taps):
    """A 'valid' correlation of each channel of (N, C, H, W) `x` with the 1-D `taps` down the rows, then along them:
    what ``conv2d`` with the taps as a (k, 1) and then a (1, k) kernel computes (pyiqa's SSIM window as two passes;
    pytorch-msssim's ``gaussian_filter``), as one shifted multiply-add per tap, in tap order: on the CPU, conv2d
    takes one channel through im2col, several times slower. The sums are the same floats as pytorch-msssim's grouped
    conv2d on RGB at every size tested, and as conv2d's passes on one channel from about 128 pixels a side; below
    that conv2d sums in another order, a float32 rounding apart (tests/test_metrics.py). A side shorter than the
    taps is left unfiltered, as pytorch-msssim does."""
    weights = [float(t) for t in taps.flatten()]
    for axis in (-2, -1):
        length = x.shape[axis] - len(weights) + 1
        if length < 1:
            continue
        out = x.narrow(axis, 0, length) * weights[0]
        for k, weight in enumerate(weights[1:], start=1):
            out.add_(x.narrow(axis, k, length), alpha=weight)
        x = out
    return x


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
    from pytorch_msssim.ssim import _fspecial_gauss_1d

    y = _eight_bit(ref)
    win = _fspecial_gauss_1d(11, 1.5).to(y.device, dtype=y.dtype)
    scales = []
    for i in range(len(MS_SSIM_WEIGHTS)):
        scales.append(_local_statistics(y, functools.partial(separable_blur, taps=win)))
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

    win, scales = MS_SSIM_REFERENCE_SIDE(ref)
    blur = functools.partial(separable_blur, taps=win)
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


def _ssim_reference_side(ref):
    """What SSIM computes of the original alone: the 11 taps, its Y channel, local means and variances."""
    y = y_channel(ref)
    taps = _gaussian_taps(y)
    return taps, _local_statistics(y, functools.partial(separable_blur, taps=taps))


def ssim_y(rec, ref):
    """pyiqa's SSIM (``ssim_arch.ssim`` on the Y channel, MATLAB's convention: 11×11 Gaussian window σ 1.5, 'valid'
    borders, negative contrast-structure terms clipped at 0, no downsampling), in float32 with the window applied as
    two 11-tap passes, and the original's side computed once per original tensor (:data:`REFERENCE_SIDE`)."""
    taps, reference = REFERENCE_SIDE(ref)
    blur = functools.partial(separable_blur, taps=taps)
    _, ssim_map = _ssim_maps(y_channel(rec), reference, blur, *SSIM_CONSTANTS, clip_cs=True)
    return ssim_map.mean([1, 2, 3])


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


# piq's VSI defaults: saliency (SDSP), gradient and colour constants
VSI_CONSTANTS = {"c1": 1.27, "c2": 386.0, "c3": 130.0, "alpha": 0.4, "beta": 0.02}
SDSP_OPTIONS = {"omega_0": 0.021, "sigma_f": 1.34, "sigma_d": 145.0, "sigma_c": 0.001}


def _vsi_side(x):
    """What piq's VSI computes of one [0, 1] RGB image alone, in its order: its saliency map (SDSP), its LMN colour
    planes (both padded and averaged down to about 256 pixels a side) and the gradient of the L plane."""
    import sys

    import piq  # noqa: F401  (imports piq.vsi, the module of the function)
    import torch
    from torch.nn.functional import avg_pool2d, pad

    v = sys.modules["piq.vsi"]
    x = x * 255.0 / 1.0  # piq: x * 255 / data_range
    vs = v.sdsp(x, data_range=255, **SDSP_OPTIONS)
    lmn = v.rgb2lmn(x)
    kernel_size = max(1, round(min(vs.size()[-2:]) / 256))
    padding = kernel_size // 2
    if padding:
        pad_to_use = [padding, (kernel_size - 1) // 2, padding, (kernel_size - 1) // 2]
        vs = pad(vs, pad=pad_to_use, mode="replicate")
        lmn = pad(lmn, pad=pad_to_use, mode="replicate")
    vs = avg_pool2d(vs, kernel_size=kernel_size)
    lmn = avg_pool2d(lmn, kernel_size=kernel_size)
    sch_filter = v.scharr_filter(device=lmn.device, dtype=lmn.dtype)
    gm = v.gradient_map(lmn[:, :1], torch.stack([sch_filter, sch_filter.transpose(1, 2)]))
    return vs, lmn, gm


VSI_REFERENCE_SIDE = RecentResults(_vsi_side, size=1, by="identity")  # the original's, once per original tensor


def vsi(rec, ref):
    """piq's VSI (visual saliency-induced index) on [0, 1] RGB, ``vsi(rec, ref, data_range=1.0, reduction="none")``
    step for step (the same numbers: tests/test_metrics.py asserts equality) with the original's side
    (:func:`_vsi_side`) computed once per original tensor; piq's input check is left out (the Scorer makes every
    input from 8-bit RGB pixels)."""
    import sys

    import torch

    vs_x, x_lmn, gm_x = _vsi_side(rec)
    similarity_map = sys.modules["piq.vsi"].similarity_map  # piq's (imported with piq by _vsi_side)
    vs_y, y_lmn, gm_y = VSI_REFERENCE_SIDE(ref)
    c = VSI_CONSTANTS
    s_vs = similarity_map(vs_x, vs_y, c["c1"])
    s_gm = similarity_map(gm_x, gm_y, c["c2"])
    s_m = similarity_map(x_lmn[:, 1:2], y_lmn[:, 1:2], c["c3"])
    s_n = similarity_map(x_lmn[:, 2:], y_lmn[:, 2:], c["c3"])
    s_c = s_m * s_n
    s_c_complex = [s_c.abs(), torch.atan2(torch.zeros_like(s_c), s_c)]
    s_c_complex_pow = [s_c_complex[0] ** c["beta"], s_c_complex[1] * c["beta"]]
    s_c_real_pow = s_c_complex_pow[0] * torch.cos(s_c_complex_pow[1])
    s = s_vs * s_gm.pow(c["alpha"]) * s_c_real_pow
    vs_max = torch.max(vs_x, vs_y)
    eps = torch.finfo(vs_max.dtype).eps
    output = s * vs_max
    return ((output.sum(dim=(-1, -2)) + eps) / (vs_max.sum(dim=(-1, -2)) + eps)).squeeze(-1)


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
    "gmsd": (gmsd, 1),
}
