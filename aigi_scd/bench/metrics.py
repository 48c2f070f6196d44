"""Image-quality metrics for the benchmark: batched pyiqa metrics, CLIP image–image similarity, and set-level FID/KID.

Three kinds of metric:

- ``fr`` full-reference consistency with the original (psnr, ms_ssim, lpips, dists, clip_sim, ...); ``ms_ssim`` is
  RGB MS-SSIM as CompressAI reports it (``ms_ssim_y``: on the Y channel), see ``bench/fast_metrics.py``,
- ``nr`` no-reference perceptual quality of the reconstruction (niqe, clipiqa, musiq, piqe, ...),
- ``set`` distances between the set of originals and the set of reconstructions (fid, kid).

Metric sets are named presets (:data:`PRESETS`); ``full`` (learned metrics, the default) needs weights that
pyiqa, torchvision and transformers download on first use; ``offline`` is weight-free and runs anywhere;
``cmc`` is the TOPIQ pair (full-reference and no-reference) that CMC-Bench scores with.
Any pyiqa metric name can also be given by name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from aigi_scd.bench.fast_metrics import FAST, remember_reference_side, shared_colour_conversion
from aigi_scd.config import closest
from aigi_scd.errors import ConfigError, ModelUnavailableError
from aigi_scd.iqa import MetricInfo, pixels_to_tensor, pyiqa_configs, pyiqa_metric_info

PRESETS: dict[str, tuple[str, ...]] = {
    "full": ("psnr", "ms_ssim", "lpips", "dists", "clip_sim", "niqe", "clipiqa", "musiq", "fid", "kid"),
    "offline": ("psnr", "ssim", "ms_ssim", "gmsd", "fsim", "vsi", "nlpd", "piqe"),
    "consistency": ("psnr", "ms_ssim", "lpips", "dists", "clip_sim"),
    "perception": ("niqe", "clipiqa", "musiq"),
    "set": ("fid", "kid"),
    # CMC-Bench's pair (the same lab's benchmark): TOPIQ full-reference consistency and no-reference perception
    "cmc": ("topiq_fr", "topiq_nr"),
}
# Image metrics that need no weights (nothing to download, nothing that can be missing).
WEIGHT_FREE = frozenset(PRESETS["offline"]) | {"ms_ssim_y"}
DEFAULT_METRIC_PRESET = "full"
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"

# Smallest image side a metric accepts (MS-SSIM runs an 11-tap window at 1/16 scale); smaller → no score.
MIN_SIDE = {name: side for name, (_, side) in FAST.items() if side > 1}
# How a reader meets a metric whose name alone does not say its convention (summary.md, the report, the terminal).
LABELS = {"ms_ssim": "ms_ssim (RGB)", "ms_ssim_y": "ms_ssim (Y)", "ssim": "ssim (Y)"}
# Metrics of our own making (pyiqa has none of that name): name → (kind, lower is better).
OWN_METRICS = {"ms_ssim_y": MetricInfo("ms_ssim_y", "fr", False)}


def metric_label(name: str) -> str:
    return LABELS.get(name, name)


def metric_info(name: str) -> MetricInfo:
    """What kind of metric `name` is and which way is better (ConfigError for an unknown name)."""
    if name == "clip_sim":
        return MetricInfo(name, "fr", False)
    if name in ("fid", "kid"):
        return MetricInfo(name, "set", True)
    if name in OWN_METRICS:
        return OWN_METRICS[name]
    info = pyiqa_metric_info(name)
    if info is None:
        known = [*PRESETS, "clip_sim", "fid", "kid", *OWN_METRICS, *pyiqa_configs()]
        raise ConfigError(
            f"unknown metric {name!r}{closest(name, known)}; use a preset ({', '.join(PRESETS)}), "
            "clip_sim, fid, kid or any pyiqa metric name (pyiqa.list_models())"
        )
    if info.kind == "set":
        raise ConfigError(f"metric {name!r} scores a set of images; the set-level metrics here are fid and kid")
    return info


def resolve_metrics(spec: str) -> list[MetricInfo]:
    """``--metrics``: comma-separated preset names and metric names, in order, without repeats."""
    names: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        for name in PRESETS.get(part, (part,)):
            if name not in names:
                names.append(name)
    if not names:
        raise ConfigError(f"--metrics {spec!r} names no metric; presets: {', '.join(PRESETS)}")
    return [metric_info(n) for n in names]


OFFLINE_ALTERNATIVE = (
    "connect once to let it download them, or use --metrics offline (weight-free: "
    + ", ".join(PRESETS["offline"])
    + ")"
)


def _unavailable(name: str, exc: BaseException) -> ModelUnavailableError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelUnavailableError(
        f"metric {name!r} needs weights that cannot be loaded here ({detail[:160]}); {OFFLINE_ALTERNATIVE}"
    )


def images_to_tensor(images: Sequence[Image.Image], device: str):
    """RGB images of one size → float tensor (N, 3, H, W) in [0, 1] on `device`, as pyiqa reads image files."""
    return pixels_to_tensor(np.stack([np.asarray(im.convert("RGB")) for im in images]), device)


class ClipSimilarity:
    """Cosine similarity of CLIP image embeddings of reconstruction and original (1 = same content)."""

    def __init__(self, model: str, device: str):
        import torch
        from transformers import CLIPImageProcessor, CLIPModel

        self.device = device
        try:
            self.processor = CLIPImageProcessor.from_pretrained(model)
            self.model = CLIPModel.from_pretrained(model).to(device).eval()
        except OSError as exc:
            raise _unavailable("clip_sim", exc) from None
        self._torch = torch

    def embed(self, images: Sequence[Image.Image]):
        pixels = self.processor(images=list(images), return_tensors="pt")["pixel_values"].to(self.device)
        with self._torch.no_grad():
            embeds = self.model.get_image_features(pixel_values=pixels)
        if not isinstance(embeds, self._torch.Tensor):  # transformers 5 returns the projected pooler output
            embeds = embeds.pooler_output
        embeds = embeds.float()
        return self._torch.nn.functional.normalize(embeds, dim=-1)

    def __call__(self, recs: Sequence[Image.Image], refs: Sequence[Image.Image]) -> list[float]:
        return (self.embed(recs) * self.embed(refs)).sum(-1).cpu().tolist()


MEGAPIXEL = 1024 * 1024


class Scorer:
    """Scores reconstructions against their originals with a list of metrics, in batches of equal-size images
    sized by pixels: `batch_size` is a budget in 1024² images' worth of pixels (8: eight 1024² images, thirty-two
    512² ones, one 4096² image), so memory per batch does not grow with the images' resolution. On the CPU the
    budget is one 1024² image whatever `batch_size`: a batch buys no speed there, and memory per worker stays that
    of one image (pyiqa's float64 SSIM and MS-SSIM took 1.1–1.4 GB at 1024²; the implementations used now,
    bench/fast_metrics.py, 170–220 MB).

    Construction loads every metric (and so fails at once, with one line, when weights are missing).
    """

    def __init__(
        self,
        metrics: Sequence[MetricInfo],
        device: str = "auto",
        batch_size: int = 8,
        clip_model: str = DEFAULT_CLIP_MODEL,
        defer_weight_free: bool = False,
    ):
        """`defer_weight_free`: build the weight-free image metrics on first use, not now. What needs weights is
        still built here, so a missing checkpoint stops the run before its first unit; `compress`'s main process
        passes it when its workers score, so it never imports pyiqa's models for metrics it does not run (about
        200 MB of the process tree's memory)."""
        from aigi_scd.weights.device import pick_device

        self.metrics = list(metrics)
        self.device = pick_device(device)
        if batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.pixel_budget = (1 if self.device == "cpu" else self.batch_size) * MEGAPIXEL  # pixels per batch
        self.clip_model = clip_model
        self._nets: dict[str, Any] = {}
        self._reference: tuple | None = None  # the originals of the last call, their tensor and its version
        for info in self.metrics:
            if defer_weight_free and info.kind != "set" and info.name in WEIGHT_FREE:
                continue
            if info.kind != "set" or "set" not in self._nets:
                self._load(info)

    @property
    def image_metrics(self) -> list[MetricInfo]:
        return [m for m in self.metrics if m.kind != "set"]

    @property
    def set_metrics(self) -> list[MetricInfo]:
        return [m for m in self.metrics if m.kind == "set"]

    def _load(self, info: MetricInfo) -> None:
        if info.name == "clip_sim":
            self._nets["clip_sim"] = ClipSimilarity(self.clip_model, self.device)
            return
        if info.name in FAST:  # another library's implementation (bench/fast_metrics.py says why)
            self._nets[info.name] = FAST[info.name][0]
            return
        import torch

        from aigi_scd.bench.metric_weights import create_pyiqa_metric

        name = "fid" if info.kind == "set" else info.name
        key = "set" if info.kind == "set" else info.name
        # The Scorer makes every input itself (images_to_tensor: 8-bit values / 255), so pyiqa's check that an input
        # lies in [0, 1] (a min and a max over both images for every metric and call) can never fail here.
        self._nets[key] = create_pyiqa_metric(
            name, torch.device(self.device), OFFLINE_ALTERNATIVE, check_input_range=False
        )
        remember_reference_side(name, self._nets[key])

    def score(
        self, recs: Sequence[Image.Image], refs: Sequence[Image.Image], only: Sequence[str] | None = None
    ) -> list[dict[str, float | None]]:
        """One ``{metric: value}`` per pair (None where the metric is undefined for the image); `only` limits
        the metrics to those names."""

        metrics = [m for m in self.image_metrics if only is None or m.name in only]
        if len(recs) != len(refs):
            raise ValueError("score() needs one original per reconstruction")
        out: list[dict[str, float | None]] = [{} for _ in recs]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (rec, ref) in enumerate(zip(recs, refs, strict=True)):
            if rec.size != ref.size:
                raise ValueError(f"reconstruction {rec.size} and original {ref.size} differ in size")
            groups.setdefault(ref.size, []).append(i)
        with shared_colour_conversion():
            for size, indices in groups.items():
                self._score_group(recs, refs, indices, size, metrics, out)
        return out

    def forget_originals(self) -> None:
        """Drop what this process's metrics remember of the originals scored so far (their tensor here, their sides
        of each metric): a worker calls it when an image's work ends, so nothing of it is held into the next."""
        from aigi_scd.bench.recent_results import forget_images

        self._reference = None
        forget_images()

    def _reference_tensor(self, images: list[Image.Image]):
        """The originals as a tensor: the same tensor as the last call's when they are the same image objects (a
        worker scores each reconstruction of an original against one image object), so what a metric remembers of
        an original by its tensor (bench/fast_metrics.py) is found again; made anew if anything changed it."""
        ids = tuple(map(id, images))
        if self._reference is not None:
            held_ids, _, tensor, version = self._reference
            if held_ids == ids and tensor._version == version:
                return tensor
        tensor = images_to_tensor(images, self.device)
        self._reference = (ids, list(images), tensor, tensor._version)  # the images held: their ids stay theirs
        return tensor

    def _score_group(self, recs, refs, indices: list[int], size: tuple[int, int], metrics, out) -> None:
        """Scores of the pairs at `indices` (one image size), in batches by pixels, into `out`."""
        import torch

        per_batch = max(1, self.pixel_budget // (size[0] * size[1]))
        for start in range(0, len(indices), per_batch):
            chunk = indices[start : start + per_batch]
            rec_t = images_to_tensor([recs[i] for i in chunk], self.device)
            ref_t = self._reference_tensor([refs[i] for i in chunk])
            for info in metrics:
                if info.name not in self._nets:  # deferred (weight-free): built on first use
                    self._load(info)
                if min(size) < MIN_SIDE.get(info.name, 1):
                    values: list[float | None] = [None] * len(chunk)
                elif info.name == "clip_sim":
                    values = self._nets["clip_sim"]([recs[i] for i in chunk], [refs[i] for i in chunk])
                elif info.name in FAST:
                    with torch.no_grad():
                        result = self._nets[info.name](rec_t, ref_t)
                    values = [float(v) for v in result.detach().double().reshape(len(chunk), -1)[:, 0].cpu()]
                else:
                    net = self._nets[info.name]
                    with torch.no_grad():
                        result = net(rec_t, ref_t) if info.kind == "fr" else net(rec_t)
                    values = [float(v) for v in result.detach().float().reshape(len(chunk), -1)[:, 0].cpu()]
                for i, value in zip(chunk, values, strict=True):
                    out[i][info.name] = None if value is None or not np.isfinite(value) else float(value)

    def set_scores(self, recs: Sequence[Image.Image], refs: Sequence[Image.Image], seed: int = 0) -> dict[str, Any]:
        """FID and/or KID between the originals and the reconstructions (None below two images per set)."""
        if not self.set_metrics or len(recs) < 2 or len(refs) < 2:
            return {m.name: None for m in self.set_metrics}
        return self.set_distances(self.set_features(recs), self.set_features(refs), seed)

    def set_features(self, images: Iterable[Image.Image | bytes]) -> np.ndarray:
        """Inception features exactly as pyiqa's FID extracts them from a folder (clean-fid resizing to 299),
        so that the originals' features can be computed once and reused for every codec and target. `images`
        (RGB images, or PNG bytes of 8-bit RGB images) are written to the folder one at a time: memory holds
        one image and one batch, whatever the set's size."""
        import torch
        from pyiqa.archs.fid_arch import get_folder_features

        fid = self._nets["set"].net
        with tempfile.TemporaryDirectory(prefix="aigi-scd-fid-") as tmp:
            write_image_folder(Path(tmp), images)
            with torch.no_grad():
                return get_folder_features(
                    tmp,
                    fid.model,
                    num_workers=0,
                    batch_size=self.batch_size,
                    test_img_size=fid.test_img_size,
                    device=torch.device(self.device),
                    mode="clean",
                    verbose=False,
                )

    def set_distances(self, rec_features: np.ndarray, ref_features: np.ndarray, seed: int = 0) -> dict[str, Any]:
        """The Fréchet distance (FID, :func:`frechet_distance`) and pyiqa's polynomial-kernel MMD (KID, subsets
        drawn with `seed`)."""
        from pyiqa.archs.fid_arch import maximum_mean_discrepancy

        out: dict[str, Any] = {}
        for info in self.set_metrics:
            value = float("nan")
            if len(rec_features) >= 2 and len(ref_features) >= 2:
                if info.name == "fid":
                    value = frechet_distance(rec_features, ref_features)
                else:
                    np.random.seed(seed)  # pyiqa's KID draws its subsets from numpy's global generator
                    value = maximum_mean_discrepancy(rec_features, ref_features)
            out[info.name] = float(value) if np.isfinite(value) else None
        return out


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """FID between two sets of features (rows): ``|mu_x - mu_y|² + tr(Sx) + tr(Sy) - 2 tr((Sx Sy)^½)``, the
    quantity pyiqa and clean-fid compute, with the trace of the square root taken exactly instead of through
    scipy's ``sqrtm`` of a 2048×2048 product (25 s on two cores, for every codec and target, and only
    approximate when there are fewer images than features, where the product is singular).

    With ``Sx = AᵀA`` and ``Sy = BᵀB`` (A, B: centred features over √(n-1)), the non-zero eigenvalues of
    ``Sx Sy`` are those of ``(ABᵀ)(ABᵀ)ᵀ``, so the trace is the sum of the singular values of the small
    ``ABᵀ``; with more images than features, ``(Sx Sy)^½`` has the eigenvalues of ``(Sx^½ Sy Sx^½)^½``,
    a symmetric matrix."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mu_x, mu_y = x.mean(0), y.mean(0)
    a = (x - mu_x) / np.sqrt(len(x) - 1)
    b = (y - mu_y) / np.sqrt(len(y) - 1)
    if min(len(x), len(y)) <= x.shape[1]:
        trace_sqrt = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    else:
        w, v = np.linalg.eigh(a.T @ a)
        root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(root @ (b.T @ b) @ root), 0, None)).sum()
    diff = mu_x - mu_y
    return float(diff @ diff + (a * a).sum() + (b * b).sum() - 2 * trace_sqrt)


def write_image_folder(folder: Path, images: Iterable[Image.Image | bytes]) -> None:
    """Lossless PNGs named in order (what pyiqa's folder metrics read); PNG bytes are written as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        path = folder / f"{i:06d}.png"
        if isinstance(image, bytes):
            path.write_bytes(image)
        else:
            image.convert("RGB").save(path)
