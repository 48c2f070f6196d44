"""aigi_scd.bench.metrics: presets, batched pyiqa scores, CLIP similarity and FID/KID — real libraries, no downloads.

Learned weights cannot be downloaded here, so the learned paths run on random-weight models built offline and
loaded with the same code as the real ones: a tiny CLIP saved with save_pretrained, and pyiqa's FID Inception
with random weights placed where pyiqa caches its checkpoint (inside the tests' private TORCH_HOME).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image, ImageFilter
from random_weights import save_random_fid_inception

from aigi_scd.bench.metrics import (
    PRESETS,
    Scorer,
    frechet_distance,
    metric_info,
    resolve_metrics,
    write_image_folder,
)
from aigi_scd.errors import ConfigError, ModelUnavailableError


def pictures(n: int, size=(200, 168), seed: int = 0) -> list[Image.Image]:
    """Smooth random pictures (noise blurred, so that structure metrics have something to measure)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        noise = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
        out.append(Image.fromarray(noise).resize(size, Image.BICUBIC))
    return out


def degrade(images: list[Image.Image]) -> list[Image.Image]:
    return [im.filter(ImageFilter.GaussianBlur(2)) for im in images]


# What each score is checked against: pyiqa's metric of that convention, and how close it must be. The tolerances
# are measured (benchmarks/bench_metrics.py: the largest difference over Kodak pairs, JPEG at quality 5 and 4×
# thumbnails): ms_ssim (pytorch-msssim, RGB) differs from pyiqa's RGB MS-SSIM by up to 6.3e-4 (pytorch-msssim
# averages the channels after the product over scales, pyiqa before), ms_ssim_y by 8.8e-5, ssim (float32, the
# window in two 11-tap passes) by 9.4e-6.
MS_SSIM_RGB_TOLERANCE = 1e-3
REFERENCE = {
    "ms_ssim": ("ms_ssim", {"test_y_channel": False}, MS_SSIM_RGB_TOLERANCE),
    "ms_ssim_y": ("ms_ssim", {}, 2e-4),
    "ssim": ("ssim", {}, 2e-4),
}


def pyiqa_reference(name: str):
    """(pyiqa metric, absolute tolerance) that the score named `name` must agree with."""
    pyiqa_name, options, tolerance = REFERENCE.get(name, (name, {}, 1e-5))
    return pyiqa.create_metric(pyiqa_name, device="cpu", **options), tolerance


def test_presets_and_names_resolve_in_order_without_repeats():
    names = [m.name for m in resolve_metrics("psnr,offline,lpips")]
    assert names[0] == "psnr" and names.count("psnr") == 1 and names[-1] == "lpips"
    assert names[1:-1] == [n for n in PRESETS["offline"] if n != "psnr"]
    assert {m.name: m.kind for m in resolve_metrics("full")} == {
        "psnr": "fr",
        "ms_ssim": "fr",
        "lpips": "fr",
        "dists": "fr",
        "clip_sim": "fr",
        "niqe": "nr",
        "clipiqa": "nr",
        "musiq": "nr",
        "fid": "set",
        "kid": "set",
    }
    assert metric_info("lpips").lower_better and not metric_info("psnr").lower_better
    with pytest.raises(ConfigError, match="unknown metric 'psnrr'.*psnr"):
        resolve_metrics("psnrr")


def test_offline_scores_match_pyiqa_on_each_image_and_batches_mixed_sizes():
    refs = pictures(2) + pictures(1, size=(176, 200), seed=1)  # two sizes: two batches
    recs = degrade(refs)
    scorer = Scorer(resolve_metrics("offline"), device="cpu", batch_size=2)
    scores = scorer.score(recs, refs)
    for rec, ref, got in zip(recs, refs, scores, strict=True):
        for name in PRESETS["offline"]:
            metric, tolerance = pyiqa_reference(name)
            x = torch.from_numpy(np.asarray(rec, dtype=np.float32) / 255).permute(2, 0, 1)[None]
            y = torch.from_numpy(np.asarray(ref, dtype=np.float32) / 255).permute(2, 0, 1)[None]
            want = float(metric(x, y) if metric.metric_mode == "FR" else metric(x))
            assert got[name] == pytest.approx(want, rel=1e-4, abs=tolerance), name
    assert scores[0]["psnr"] < 40 and scores[0]["ms_ssim"] < 1


def test_ms_ssim_is_rgb_ms_ssim_as_compressai_reports_it_and_ms_ssim_y_the_luma_one(kodak_pairs):
    """`ms_ssim` is MS-SSIM on RGB (pytorch-msssim on 8-bit values, CompressAI's evaluation): it agrees with pyiqa's
    ms_ssim with test_y_channel=False within MS_SSIM_RGB_TOLERANCE on real photographs at low bitrates, and is not
    pyiqa's default (Y-channel) ms_ssim, which `ms_ssim_y` is."""
    from pytorch_msssim import ms_ssim

    recs, refs = kodak_pairs
    scores = Scorer(resolve_metrics("ms_ssim,ms_ssim_y"), device="cpu").score(recs, refs)
    rgb = pyiqa.create_metric("ms_ssim", device="cpu", test_y_channel=False)
    luma = pyiqa.create_metric("ms_ssim", device="cpu")
    apart_from_luma = []
    for rec, ref, got in zip(recs, refs, scores, strict=True):
        x, y = (torch.from_numpy(np.asarray(im, dtype=np.float32)).permute(2, 0, 1)[None] for im in (rec, ref))
        assert got["ms_ssim"] == pytest.approx(float(rgb(x / 255, y / 255)), abs=MS_SSIM_RGB_TOLERANCE)
        assert got["ms_ssim"] == pytest.approx(float(ms_ssim(x, y, data_range=255)), abs=1e-6)  # CompressAI's call
        assert got["ms_ssim_y"] == pytest.approx(float(luma(x / 255, y / 255)), abs=2e-4)
        apart_from_luma.append(abs(got["ms_ssim"] - got["ms_ssim_y"]))
    assert max(apart_from_luma) > 10 * MS_SSIM_RGB_TOLERANCE  # the two conventions really differ on these pairs


def test_many_reconstructions_of_one_original_score_as_pyiqa_scores_each(kodak_pairs):
    """FSIM, VSI, NLPD, SSIM and MS-SSIM compute the original's side once per image (bench/fast_metrics.py:
    RecentResults), and the colour conversion once per tensor and call: the scores of every reconstruction against
    one original, in one call or one call each (as a worker scores them), in any order, are still pyiqa's (and for
    MS-SSIM pytorch-msssim's, exactly)."""
    from pytorch_msssim import ms_ssim

    recs, refs = kodak_pairs
    ref = refs[0]
    others = [r.resize(ref.size) for r in recs[2:5]]
    names = ("fsim", "vsi", "nlpd", "ssim", "ms_ssim", "gmsd", "piqe")
    scorer = Scorer(resolve_metrics(",".join(names)), device="cpu")
    pictures_ = [*recs[:2], *others, recs[0]]
    together = scorer.score(pictures_, [ref] * 6)
    one_by_one = [scorer.score([rec], [ref])[0] for rec in pictures_]
    for alone, batched in zip(one_by_one, together, strict=True):  # a batch of two rounds a few values apart
        assert alone == pytest.approx(batched, abs=1e-6)
    y = torch.from_numpy(np.asarray(ref, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    for rec, got, alone in zip(pictures_, together, one_by_one, strict=True):
        x = torch.from_numpy(np.asarray(rec, dtype=np.float32) / 255).permute(2, 0, 1)[None]
        for name in names:
            if name == "ms_ssim":  # pytorch-msssim's convention (its test above compares it with pyiqa's)
                continue
            metric, tolerance = pyiqa_reference(name)
            want = float(metric(x, y) if metric.metric_mode == "FR" else metric(x))
            assert got[name] == pytest.approx(want, abs=tolerance), name
        assert alone["ms_ssim"] == float(ms_ssim((x * 255).round(), (y * 255).round(), data_range=255))  # exactly
    assert together[0] == together[-1]


def test_fsims_phase_congruency_is_pyiqas_exactly_with_its_filter_terms_once_per_size():
    """bench/fast_metrics.py re-states pyiqa's phase congruency to compute its filters' terms once per image size:
    the same numbers, bit for bit, for every size and batch, the remembered terms never served to another size."""
    from pyiqa.archs import fsim_arch

    from aigi_scd.bench.pyiqa_restated import phase_congruency

    generator = torch.Generator().manual_seed(3)
    for shape in ((1, 1, 96, 128), (2, 1, 40, 56), (1, 1, 33, 47), (1, 1, 96, 128)):
        for _ in range(2):  # the second image of a size: its filter terms remembered
            x = torch.rand(shape, generator=generator) * 255
            assert torch.equal(phase_congruency(x), fsim_arch._phase_congruency(x)), shape


def test_the_median_phase_congruency_takes_is_torchs_lower_median_nan_and_all():
    from aigi_scd.bench.pyiqa_restated import _lower_median

    generator = torch.Generator().manual_seed(5)
    for length in (1, 2, 7, 10, 4096):  # odd and even counts: torch takes the lower of the two middle values
        values = torch.rand(2, 3, 1, 1, length, generator=generator).round(decimals=2)  # ties too
        assert torch.equal(_lower_median(values), torch.median(values, dim=-1, keepdim=True).values), length
    values[0, 1, 0, 0, 5] = float("nan")  # torch's median is NaN for that row; NumPy's partition would not be
    expected = torch.median(values, dim=-1, keepdim=True).values
    torch.testing.assert_close(_lower_median(values), expected, rtol=0, atol=0, equal_nan=True)
    assert torch.isnan(_lower_median(values)[0, 1]).all()


def test_vsi_is_piqs_exactly_with_the_originals_side_once(kodak_pairs):
    """bench/fast_metrics.py re-states piq's VSI to compute the original's saliency, colour planes and gradient once
    per original: piq's numbers, bit for bit, for each reconstruction in turn and for a batch of other sizes."""
    import sys

    import piq  # noqa: F401  (imports piq.vsi)

    from aigi_scd.bench.fast_metrics import vsi

    recs, refs = kodak_pairs
    y = torch.from_numpy(np.asarray(refs[0], dtype=np.float32) / 255).permute(2, 0, 1)[None]
    for rec in [*recs[:2], recs[2].resize(refs[0].size), recs[0]]:
        x = torch.from_numpy(np.asarray(rec, dtype=np.float32) / 255).permute(2, 0, 1)[None]
        assert torch.equal(vsi(x, y), sys.modules["piq.vsi"].vsi(x, y, data_range=1.0, reduction="none"))
    generator = torch.Generator().manual_seed(5)
    x, y = (torch.rand(2, 3, 40, 52, generator=generator) for _ in range(2))
    assert torch.equal(vsi(x, y), sys.modules["piq.vsi"].vsi(x, y, data_range=1.0, reduction="none"))


def test_fsim_gmsd_and_the_separable_window_are_the_libraries_exactly_with_the_originals_side_once(kodak_pairs):
    """bench/pyiqa_restated.py re-states pyiqa's FSIM and GMSD to compute the original's side once per original, and
    bench/fast_metrics.py applies SSIM's and MS-SSIM's Gaussian window as shifted multiply-adds instead of conv2d: the
    libraries' numbers,
    bit for bit, for each reconstruction in turn (the original's side remembered) and for a batch of other sizes."""
    import torch.nn.functional as F
    from pyiqa.archs import fsim_arch, gmsd_arch
    from pytorch_msssim.ssim import _fspecial_gauss_1d, gaussian_filter

    from aigi_scd.bench.fast_metrics import separable_blur
    from aigi_scd.bench.pyiqa_restated import fsim, gmsd

    recs, refs = kodak_pairs
    y = torch.from_numpy(np.asarray(refs[0], dtype=np.float32) / 255).permute(2, 0, 1)[None]
    for rec in [*recs[:2], recs[2].resize(refs[0].size), recs[0]]:
        x = torch.from_numpy(np.asarray(rec, dtype=np.float32) / 255).permute(2, 0, 1)[None]
        assert torch.equal(fsim(x, y), fsim_arch.fsim(x, y))
        assert torch.equal(gmsd(x, y), gmsd_arch.gmsd(x, y))
    generator = torch.Generator().manual_seed(7)
    x, y = (torch.rand(2, 3, 40, 52, generator=generator) for _ in range(2))
    assert torch.equal(fsim(x, y), fsim_arch.fsim(x, y)) and torch.equal(gmsd(x, y), gmsd_arch.gmsd(x, y))
    window = _fspecial_gauss_1d(11, 1.5)
    for shape in ((1, 3, 512, 768), (2, 3, 33, 47), (1, 3, 9, 40)):  # the last: rows too few for the window
        x = torch.rand(shape, generator=generator) * 255
        assert torch.equal(separable_blur(x, window), gaussian_filter(x, window.repeat([3, 1, 1, 1])))  # MS-SSIM's
    for shape in ((1, 1, 512, 768), (1, 1, 40, 52)):  # SSIM's Y plane: conv2d sums one channel of a small image
        x = torch.rand(shape, generator=generator) * 255  # in another order (a float32 rounding apart)
        two_pass = F.conv2d(F.conv2d(x, window.view(1, 1, -1, 1)), window.view(1, 1, 1, -1))
        torch.testing.assert_close(separable_blur(x, window), two_pass, rtol=1e-6, atol=0)
        assert shape[2] < 128 or torch.equal(separable_blur(x, window), two_pass)


def test_remembered_results_are_never_served_for_other_pixels():
    """A remembered result comes back only for the same pixels: not for another tensor of the same shape, not for
    the same tensor once it has been changed in place (identity), and for an equal copy only where content counts."""
    from aigi_scd.bench.fast_metrics import RecentResults

    calls = []

    def total(x):
        calls.append(1)
        return float(x.sum())

    by_identity, by_content = RecentResults(total, by="identity"), RecentResults(total, by="content")
    a, b = torch.zeros(2, 3), torch.ones(2, 3)
    for memo in (by_identity, by_content):
        assert memo(a) == 0 and memo(b) == 6 and memo(a) == 0
    assert len(calls) == 4  # each memo computed a and b once
    assert by_content(a.clone()) == 0 and len(calls) == 4  # equal content: remembered
    assert by_identity(a.clone()) == 0 and len(calls) == 5  # another tensor: computed
    a.add_(2)
    assert by_identity(a) == 12 and by_content(a) == 12 and len(calls) == 7  # changed in place: computed again


def test_summary_and_plots_name_the_ms_ssim_convention():
    from aigi_scd.bench.metrics import metric_label

    assert metric_label("ms_ssim") == "ms_ssim (RGB)" and metric_label("ms_ssim_y") == "ms_ssim (Y)"
    assert metric_info("ms_ssim_y").kind == "fr" and not metric_info("ms_ssim_y").lower_better


def test_ms_ssim_is_left_empty_below_its_smallest_size():
    refs = pictures(2, size=(160, 160))
    scores = Scorer(resolve_metrics("psnr,ms_ssim"), device="cpu").score(degrade(refs), refs)
    assert all(s["ms_ssim"] is None and s["psnr"] > 0 for s in scores)


@pytest.fixture(scope="module")
def kodak_pairs() -> tuple[list[Image.Image], list[Image.Image]]:
    """Kodak crops (256×192) against JPEG at quality 5 and a 4× Lanczos thumbnail upscaled: low-bitrate pairs."""
    import io

    from conftest import kodak_dir

    recs, refs = [], []
    for name in ("kodim01", "kodim05", "kodim14", "kodim23"):
        ref = Image.open(kodak_dir() / f"{name}.png").convert("RGB").crop((100, 100, 356, 292))
        buffer = io.BytesIO()
        ref.save(buffer, format="JPEG", quality=5)
        thumb = ref.resize((64, 48), Image.Resampling.LANCZOS).resize(ref.size, Image.Resampling.LANCZOS)
        recs += [Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), thumb]
        refs += [ref, ref]
    return recs, refs


def test_learned_metric_without_weights_names_itself_and_the_offline_preset():
    with pytest.raises(ModelUnavailableError, match=r"metric 'lpips'.*--metrics offline"):
        Scorer(resolve_metrics("psnr,lpips"), device="cpu")
    with pytest.raises(ModelUnavailableError, match=r"metric 'clip_sim'.*--metrics offline"):
        Scorer(resolve_metrics("clip_sim"), device="cpu", clip_model="/nonexistent/clip")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = tmp_path_factory.mktemp("tiny-clip")
    layers = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4}
    config = CLIPConfig(
        text_config={**layers, "vocab_size": 99, "max_position_embeddings": 16},
        vision_config={**layers, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_clip_similarity_is_the_cosine_of_clip_image_embeddings(tiny_clip):
    from transformers import CLIPImageProcessor, CLIPModel

    refs = pictures(3)
    recs = [refs[0], *degrade(refs[1:])]
    scores = Scorer(resolve_metrics("clip_sim"), device="cpu", clip_model=str(tiny_clip)).score(recs, refs)
    assert scores[0]["clip_sim"] == pytest.approx(1.0, abs=1e-5)
    model, processor = CLIPModel.from_pretrained(tiny_clip).eval(), CLIPImageProcessor.from_pretrained(tiny_clip)
    with torch.no_grad():
        a = model.get_image_features(**processor(images=recs, return_tensors="pt"))
        b = model.get_image_features(**processor(images=refs, return_tensors="pt"))
    a, b = (getattr(t, "pooler_output", t) for t in (a, b))
    want = torch.nn.functional.cosine_similarity(a, b).tolist()
    assert [s["clip_sim"] for s in scores] == pytest.approx(want, abs=1e-5)


@pytest.fixture(scope="module")
def random_fid_inception():
    return save_random_fid_inception()


def test_fid_and_kid_match_pyiqa_on_folders_and_repeat_exactly(random_fid_inception, tmp_path):
    refs = pictures(3)  # few images: each Inception pass is slow on a CPU
    recs = degrade(refs)
    scorer = Scorer(resolve_metrics("set"), device="cpu")
    assert scorer.image_metrics == [] and scorer.score(recs, refs) == [{}, {}, {}]
    rec_features, ref_features = scorer.set_features(recs), scorer.set_features(refs)
    got = scorer.set_distances(rec_features, ref_features)
    assert set(got) == {"fid", "kid"} and got["fid"] > 0
    assert scorer.set_distances(rec_features, ref_features) == got  # KID's random subsets are seeded
    # The FID against pyiqa's formula (scipy's sqrtm) on these very features, taken in an orthonormal basis of the
    # span of both sets' centred features: the covariances live there, so every trace is that of the 2048-dim
    # ones, and sqrtm runs on a 6×6 matrix instead of a 2048×2048 one (25 s).
    from pyiqa.archs.fid_arch import frechet_distance as pyiqa_frechet_distance

    x, y = rec_features.astype(np.float64), ref_features.astype(np.float64)
    basis, _ = np.linalg.qr(np.vstack([x - x.mean(0), y - y.mean(0)]).T)
    shift = x.mean(0) - y.mean(0)
    zero = np.zeros(basis.shape[1])
    fid = shift @ shift + pyiqa_frechet_distance(
        zero, np.cov(x @ basis, rowvar=False), zero, np.cov(y @ basis, rowvar=False)
    )
    assert got["fid"] == pytest.approx(float(np.real(fid)), rel=1e-6)
    write_image_folder(tmp_path / "rec", recs)
    write_image_folder(tmp_path / "ref", refs)
    # pyiqa's own folder metric: its features (read back from the PNG folders) are the ones the FID is taken on.
    # (pyiqa's folder FID itself is left out: scipy's sqrtm of the 2048² product takes 25 s; the formula is
    # checked against pyiqa's in the next test.)
    fid = pyiqa.create_metric("fid", device="cpu")
    np.random.seed(0)
    kwargs = {"mode": "clean", "num_workers": 0, "verbose": False}
    kid = float(fid(str(tmp_path / "rec"), str(tmp_path / "ref"), distance_type="mmd", **kwargs))
    assert got["kid"] == pytest.approx(kid, rel=1e-6)
    assert scorer.set_scores(recs[:1], refs[:1]) == {"fid": None, "kid": None}  # one image: no set statistic


@pytest.mark.parametrize("images", [300, 40, 2])  # more images than features, fewer, and the fewest
def test_frechet_distance_equals_pyiqas_with_the_exact_square_root_trace(images):
    """The Fréchet distance of aigi-scd (the trace of the square root taken exactly) against pyiqa's (scipy's
    sqrtm), on 64-dimensional features where sqrtm is quick. With fewer images than features the product is
    singular and sqrtm is approximate (scipy warns so): there the two agree to 1e-5."""
    from pyiqa.archs.fid_arch import frechet_distance as pyiqa_frechet_distance

    rng = np.random.default_rng(images)
    x = np.abs(rng.normal(size=(images, 64)))  # non-negative, like pooled ReLU features
    y = np.abs(x + 0.3 * rng.normal(size=x.shape))
    ours = frechet_distance(x, y)
    theirs = pyiqa_frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert ours == pytest.approx(float(np.real(theirs)), rel=1e-9 if images > 64 else 1e-5)
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-9)


def test_metric_batches_are_sized_by_pixels_not_by_image_count(monkeypatch):
    """--batch-size is a budget of 1024² images' worth of pixels: four times the pixels, a quarter the images."""
    import aigi_scd.bench.metrics as metrics

    seen: list[tuple[int, int]] = []  # (images, pixels per image) of every batch the metrics saw
    real = metrics.images_to_tensor

    def spy(images, device):
        tensor = real(images, device)
        seen.append((tensor.shape[0], tensor.shape[2] * tensor.shape[3]))
        return tensor

    monkeypatch.setattr(metrics, "images_to_tensor", spy)
    refs = pictures(20, size=(256, 256)) + pictures(5, size=(512, 512), seed=1)
    recs = degrade(refs)
    scores = Scorer(resolve_metrics("psnr"), device="cpu", batch_size=1).score(recs, refs)
    batches = seen[::2]  # reconstructions and originals go in pairs
    assert sorted(batches) == sorted([(16, 256 * 256), (4, 256 * 256), (4, 512 * 512), (1, 512 * 512)])
    alone = [Scorer(resolve_metrics("psnr"), device="cpu").score([r], [o])[0] for r, o in zip(recs, refs, strict=True)]
    assert [s["psnr"] for s in scores] == pytest.approx([s["psnr"] for s in alone], rel=1e-6)
