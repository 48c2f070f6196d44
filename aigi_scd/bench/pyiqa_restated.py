"""pyiqa's FSIM and GMSD re-stated step for step, with the same numbers bit for bit (tests/test_metrics.py asserts
equality), so that what they compute of the original alone is computed once per image for all its reconstructions
(:class:`RecentResults`), and FSIM's log-Gabor filter terms once per image size: pyiqa's calls take no precomputed
reference. ``bench/fast_metrics.py`` lists them among the metrics computed faster with the same values.
"""

from __future__ import annotations

from aigi_scd.bench.recent_results import RecentResults


def _filter_terms(x, scales: int, orientations: int, min_length: int, mult: int, sigma_f: float, delta_theta, k):
    """What pyiqa's ``_phase_congruency`` computes of its log-Gabor filters alone, which depend on the image's size
    only: the filters, the mean squared filter at the smallest scale (``em_n``), and the noise model's sums of the
    filters' spatial responses (``sum_an2``, ``sum_ai_aj``), with pyiqa's operations in pyiqa's order."""
    import math

    import torch
    from pyiqa.archs import fsim_arch

    n, _, h, w = x.shape
    filters = fsim_arch._construct_filters(x, scales, orientations, min_length, mult, sigma_f, delta_theta, k)
    filters_ifft = torch.fft.ifft2(filters).real * math.sqrt(h * w)
    em_n = (filters.view(1, orientations, scales, h, w)[:, :, :1, ...] ** 2).sum(dim=[-2, -1], keepdims=True)
    filters_ifft = filters_ifft.view(1, orientations, scales, h, w)
    sum_an2 = torch.sum(filters_ifft**2, dim=-3, keepdim=True)
    sum_ai_aj = torch.zeros(n, orientations, 1, h, w).to(x)
    for s in range(scales - 1):
        sum_ai_aj = sum_ai_aj + (filters_ifft[:, :, s : s + 1] * filters_ifft[:, :, s + 1 :]).sum(dim=-3, keepdim=True)
    return (
        filters,
        em_n,
        torch.sum(sum_an2, dim=[-1, -2], keepdim=True),
        torch.sum(sum_ai_aj, dim=[-1, -2], keepdim=True),
    )


# FSIM's filter terms, once per image size (and batch size): 4 MB kept at 1024² (FSIM works at a quarter of the side).
FILTER_TERMS = RecentResults(_filter_terms, size=1, by="shape")


def _lower_median(values):
    """``torch.median(values, dim=-1, keepdim=True).values`` (the lower of the two middle elements), by NumPy's
    partition where the values are finite and on the CPU (torch's median propagates a NaN, partition does not)."""
    import numpy as np
    import torch

    if values.device.type != "cpu" or not bool(torch.isfinite(values).all()):
        return torch.median(values, dim=-1, keepdim=True).values
    middle = (values.shape[-1] - 1) // 2
    rows = values.detach().reshape(-1, values.shape[-1]).numpy()
    picked = np.partition(rows, middle, axis=-1)[:, middle]
    return torch.from_numpy(np.ascontiguousarray(picked)).reshape(*values.shape[:-1], 1)


def phase_congruency(
    x,
    scales: int = 4,
    orientations: int = 4,
    min_length: int = 6,
    mult: int = 2,
    sigma_f: float = 0.55,
    delta_theta: float = 1.2,
    k: float = 2.0,
):
    """pyiqa's ``fsim_arch._phase_congruency`` step for step (the same numbers: tests/test_metrics.py asserts
    equality), its filter terms (:func:`_filter_terms`) computed once per image size instead of for every image:
    a quarter of FSIM's time at 768×512 was the filters' inverse FFTs and sums. Three steps are written so that they
    cost less and give the same floats: each amplitude as ``sqrt(even * even + odd * odd)`` (pyiqa sums the squares
    over a last axis of two, one addition either way, but its reduction costs three times more), the smallest
    scale's amplitudes taken from those instead of computed again, and the median of their squares (an element of
    the array, whichever algorithm selects it) by NumPy's partition on the CPU, ten times faster than torch's. The
    amplitudes' and the energy's sums are taken in place, into their first term's buffer (the same additions, four
    fewer full-size temporaries)."""
    import math

    import torch

    eps_x = torch.finfo(x.dtype).eps
    n, _, h, w = x.shape
    filters, em_n, sum_an2, sum_ai_aj = FILTER_TERMS(x, scales, orientations, min_length, mult, sigma_f, delta_theta, k)
    imagefft = torch.fft.fft2(x)
    even_odd = torch.view_as_real(torch.fft.ifft2(imagefft * filters)).view(n, orientations, scales, h, w, 2)
    even = even_odd[..., 0]
    odd = even_odd[..., 1]
    an = (even * even).add_(odd * odd).sqrt_()  # amplitude of each filter's response
    sum_e = even.sum(dim=2, keepdims=True)
    sum_o = odd.sum(dim=2, keepdims=True)
    x_energy = torch.sqrt(sum_e**2 + sum_o**2) + eps_x
    mean_e = sum_e / x_energy
    mean_o = sum_o / x_energy
    # pyiqa's (even·mean_e + odd·mean_o − |even·mean_o − odd·mean_e|), each sum into its first term's buffer
    energy = (even * mean_e).add_(odd * mean_o).sub_((even * mean_o).sub_(odd * mean_e).abs_()).sum(dim=2, keepdim=True)
    # the noise: from the median squared response at the smallest scale, over the mean squared filter there
    median_e2n = _lower_median(an[:, :, :1].reshape(n, orientations, 1, 1, h * w) ** 2)
    mean_e2n = -median_e2n / math.log(0.5)
    noise_power = mean_e2n / em_n
    noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_ai_aj
    tau = torch.sqrt(noise_energy2 / 2)  # Rayleigh parameter
    noise_energy = tau * math.sqrt(math.pi / 2)
    noise_energy_sigma = torch.sqrt((2 - math.pi / 2) * tau**2)
    threshold = (noise_energy + k * noise_energy_sigma) / 1.7  # pyiqa's empirical rescaling for its PC_2 measure
    energy = torch.max(energy - threshold, torch.zeros_like(threshold))
    eps = torch.finfo(energy.dtype).eps
    energy_all = energy.sum(dim=[1, 2]) + eps
    an_all = an.sum(dim=[1, 2]) + eps
    return (energy_all / an_all).unsqueeze(1)


def _fsim_side(x, scales: int = 4, orientations: int = 4):
    """What pyiqa's FSIM (chromatic, its defaults) computes of one RGB image alone, with pyiqa's operations in
    pyiqa's order: the image as 0–255 values averaged down to about 256 pixels a side, its I and Q planes, the phase
    congruency of its Y plane (:func:`phase_congruency`) and that plane's gradient magnitude (Scharr)."""
    import torch
    from pyiqa.archs import fsim_arch

    x = x / 1.0 * 255  # pyiqa: x / float(1.0) * 255
    kernel_size = max(1, round(min(x.shape[-2:]) / 256))
    x = torch.nn.functional.avg_pool2d(x, kernel_size)
    yiq = fsim_arch.rgb2yiq(x)
    lum = yiq[:, :1]
    pc = phase_congruency(lum, scales=scales, orientations=orientations)
    scharr_filter = torch.tensor([[[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]]) / 16
    kernels = torch.stack([scharr_filter, scharr_filter.transpose(-1, -2)])
    return yiq[:, 1:2], yiq[:, 2:], pc, fsim_arch.gradient_map(lum, kernels)


FSIM_REFERENCE_SIDE = RecentResults(_fsim_side, size=1, by="identity")  # the original's, once per original tensor


def fsim(rec, ref):
    """pyiqa's FSIM (``fsim_arch.fsim`` with its defaults: chromatic, 4 scales, 4 orientations) step for step (the
    same numbers: tests/test_metrics.py asserts equality), with the original's side (:func:`_fsim_side`: its
    downsampling, colour planes, phase congruency and gradient) computed once per original tensor and the log-Gabor
    filters' terms once per image size."""
    import torch
    from pyiqa.archs import fsim_arch

    i_x, q_x, pc_x, grad_map_x = _fsim_side(rec)
    i_y, q_y, pc_y, grad_map_y = FSIM_REFERENCE_SIDE(ref)
    t1, t2, t3, t4, lmbda = 0.85, 160, 200, 200, 0.03  # pyiqa's constants (the paper's)
    pc = fsim_arch.similarity_map(pc_x, pc_y, t1)
    gm = fsim_arch.similarity_map(grad_map_x, grad_map_y, t2)
    pc_max = torch.where(pc_x > pc_y, pc_x, pc_y)
    score = gm * pc * pc_max
    s_i = fsim_arch.similarity_map(i_x, i_y, t3)
    s_q = fsim_arch.similarity_map(q_x, q_y, t4)
    score = score * torch.abs(s_i * s_q) ** lmbda
    return score.sum(dim=[1, 2, 3]) / pc_max.sum(dim=[1, 2, 3])


def _gmsd_side(x):
    """What pyiqa's GMSD (Y channel, its defaults) computes of one RGB image alone, with pyiqa's operations in pyiqa's
    order: the Y plane as 8-bit values, averaged down by 2×2, and its gradient magnitude (Prewitt)."""
    import torch
    import torch.nn.functional as F
    from pyiqa.utils.color_util import to_y_channel

    x = to_y_channel(x, 255)
    dx = (torch.Tensor([[1, 0, -1], [1, 0, -1], [1, 0, -1]]) / 3.0).view(1, 1, 3, 3).to(x)  # Prewitt, as pyiqa's
    dy = (torch.Tensor([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]) / 3.0).view(1, 1, 3, 3).to(x)
    pooled = F.conv2d(x, torch.ones(1, 1, 2, 2).to(x) / 4.0, stride=2)
    ix = F.conv2d(pooled, dx, padding=1)
    iy = F.conv2d(pooled, dy, padding=1)
    return torch.sqrt(ix**2 + iy**2 + 1e-12)


GMSD_REFERENCE_SIDE = RecentResults(_gmsd_side, size=1, by="identity")  # the original's, once per original tensor


def gmsd(rec, ref, t: float = 170):
    """pyiqa's GMSD (``gmsd_arch.gmsd`` with its defaults: Y channel, T = 170) step for step (the same numbers:
    tests/test_metrics.py asserts equality), the original's gradient magnitude (:func:`_gmsd_side`) computed once
    per original tensor."""
    import torch

    gradient_map1 = _gmsd_side(rec)
    gradient_map2 = GMSD_REFERENCE_SIDE(ref)
    quality_map = (2 * gradient_map1 * gradient_map2 + t) / (gradient_map1**2 + gradient_map2**2 + t)
    return torch.std(quality_map.view(quality_map.shape[0], -1), dim=1)
