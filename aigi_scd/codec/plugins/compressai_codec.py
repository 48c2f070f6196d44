"""``kind: compressai``: any model of ``compressai.zoo`` by name, with its quality ladder as the knob.

The bitstream is the model's real ``compress()`` output — its strings and latent shape — in a small container
(docs/codecs.md, *The CompressAI container*) whose every byte counts::

    0xCA, preset id (1 byte), quality (1 byte), width, height (varints), then the model's part:
    latent height, latent width, number of strings (varints), each string but the last with its length
    (varint) before it, the last running to the end of the file.

The model's part alone is also MISC's pixel layer with ``pixel: {backend: compressai}``. Weights come from the
zoo (downloaded on a connected machine), a local checkpoint, or, with ``pretrained: false``, a seeded random
initialisation (the same weights in every process: what the tests use). Images are padded at the right and
bottom (edge pixels repeated) to the model's multiple of 64, and cropped back after decoding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.image import MAX_SIDE
from aigi_scd.codec.knob import KnobCodec
from aigi_scd.codec.misc.bitstream import Reader, write_varint
from aigi_scd.errors import ConfigError, ModelUnavailableError

MAGIC = 0xCA
PAD = 64  # every zoo model downsamples by at most 64 (the hyperprior's z)
_MODELS: dict[tuple, Any] = {}


def import_zoo():
    """compressai.zoo, imported quietly (its modules use the deprecated torch.jit.script), or one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import compressai.zoo
    except ImportError as exc:
        raise ConfigError(
            f"CompressAI is not installed ({exc}); pip install --no-deps compressai==1.2.8 einops pytorch-msssim "
            "torch-geometric (docs/codecs.md says why --no-deps)"
        ) from None
    return compressai.zoo


@dataclass(frozen=True)
class ModelSpec:
    """Which network: a zoo name, its training metric, and where the weights come from."""

    model: str
    metric: str = "mse"
    pretrained: bool = True
    checkpoint: str | None = None
    seed: int = 0
    device: str = "cpu"  # entropy coding must see the same numbers at both ends: the CPU is the safe default

    def ladder(self) -> list[int]:
        zoo = import_zoo()
        if self.model not in zoo.image_models:
            raise ConfigError(f"compressai.zoo has no model {self.model!r}; its models: {', '.join(zoo.image_models)}")
        return list(range(1, 7 if self.model.startswith("cheng2020") else 9))

    def network(self, quality: int):
        key = (self, quality)
        if key not in _MODELS:
            _MODELS[key] = self._load(quality)
        return _MODELS[key]

    def _load(self, quality: int):
        import torch

        zoo = import_zoo()
        build = zoo.image_models[self.model]
        if self.checkpoint:
            from compressai.zoo import load_state_dict

            try:
                state = load_state_dict(torch.load(self.checkpoint, map_location="cpu", weights_only=True))
            except (OSError, RuntimeError) as exc:
                raise ModelUnavailableError(f"cannot read the CompressAI checkpoint {self.checkpoint}: {exc}") from None
            net = build(quality=quality, metric=self.metric, pretrained=False)
            net.load_state_dict(state)
        elif self.pretrained:
            try:
                net = build(quality=quality, metric=self.metric, pretrained=True, progress=False)
            except Exception as exc:  # torch.hub's download: URLError, HTTPError, OSError...
                raise ModelUnavailableError(
                    f"cannot get CompressAI's {self.model} quality {quality} weights ({type(exc).__name__}: "
                    f"{exc}); connect once (torch.hub caches them), give checkpoint: PATH, or pretrained: false"
                ) from None
        else:
            with torch.random.fork_rng():
                torch.manual_seed(self.seed * 1000 + quality)
                net = build(quality=quality, metric=self.metric, pretrained=False)
        net = net.eval().to(self.device)
        net.update(force=True)
        return net


def _to_tensor(image: Image.Image):
    import torch

    array = np.asarray(image, dtype=np.float32) / 255.0
    height, width = array.shape[:2]
    padded = np.pad(array, ((0, -height % PAD), (0, -width % PAD), (0, 0)), mode="edge")
    return torch.from_numpy(padded).permute(2, 0, 1).unsqueeze(0).contiguous()


def compress_payload(spec: ModelSpec, image: Image.Image, quality: int) -> bytes:
    """The model's part of the container for `image` at `quality`: its real compress() output."""
    import torch

    net = spec.network(quality)
    with torch.no_grad():
        out = net.compress(_to_tensor(image).to(spec.device))
    strings = [s[0] for s in out["strings"]]
    shape = [int(v) for v in out["shape"]]
    head = bytes([quality]) + write_varint(image.width) + write_varint(image.height)
    head += write_varint(shape[0]) + write_varint(shape[1]) + write_varint(len(strings))
    body = b"".join(write_varint(len(s)) + s for s in strings[:-1]) + strings[-1]
    return head + body


@dataclass
class Payload:
    quality: int
    width: int
    height: int
    shape: tuple[int, int]
    strings: list[bytes] = field(default_factory=list)


def parse_payload(data: bytes, start: int = 0) -> Payload:
    reader = Reader(data, start)
    quality = reader.byte("quality")
    width = reader.varint("width", limit=MAX_SIDE)
    height = reader.varint("height", limit=MAX_SIDE)
    shape = (reader.varint("latent height", limit=MAX_SIDE), reader.varint("latent width", limit=MAX_SIDE))
    count = reader.varint("number of strings", limit=16)
    if width < 1 or height < 1 or count < 1:
        raise BitstreamError(f"empty image ({width}x{height}) or no strings ({count})", start)
    strings = [reader.take(reader.varint("string length"), "string") for _ in range(count - 1)]
    strings.append(reader.rest())
    return Payload(quality, width, height, shape, strings)


def decompress_payload(spec: ModelSpec, data: bytes, start: int = 0) -> Image.Image:
    """The image a container part decodes to, through the model's own decompress()."""
    import torch

    payload = parse_payload(data, start)
    if payload.quality not in spec.ladder():
        raise BitstreamError(f"quality {payload.quality} is not on {spec.model}'s ladder", start)
    net = spec.network(payload.quality)
    try:
        with torch.no_grad():
            x_hat = net.decompress([[s] for s in payload.strings], list(payload.shape))["x_hat"]
    except Exception as exc:  # the entropy decoder or the synthesis transform on damaged data
        raise BitstreamError(f"{spec.model} cannot decompress it ({type(exc).__name__}: {exc})", start) from None
    pixels = x_hat[0, :, : payload.height, : payload.width].clamp(0, 1).mul(255).round().byte()
    if tuple(pixels.shape[1:]) != (payload.height, payload.width):
        raise BitstreamError(f"latent shape {payload.shape} is too small for {payload.width}x{payload.height}", start)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())


@dataclass
class CompressAICodec(KnobCodec):
    spec: ModelSpec = field(default_factory=lambda: ModelSpec("bmshj2018-factorized"))
    codec_id: int = 0
    qualities: list[int] | None = None
    quality: int = 1

    def levels(self) -> list[int]:
        return list(self.qualities) if self.qualities else self.spec.ladder()

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        return bytes([MAGIC, self.codec_id]) + compress_payload(self.spec, image, level)

    def decode(self, data: bytes) -> Image.Image:
        if len(data) < 3 or data[0] != MAGIC:
            raise BitstreamError("not a CompressAI container (no 0xCA byte)", 0)
        if data[1] != self.codec_id:
            raise BitstreamError(f"written by codec id {data[1]}, not {self.name} ({self.codec_id})", 1)
        return decompress_payload(self.spec, data, 2)

    def fixed_bytes(self, data: bytes) -> int | None:
        return len(data) - sum(len(s) for s in parse_payload(data, 2).strings)


def build_compressai(preset) -> CompressAICodec:
    where = f"{preset.source or preset.name}: options"
    options = dict(preset.options)
    known = {"model", "metric", "pretrained", "checkpoint", "seed", "device", "qualities", "quality"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown option {unknown[0]!r}; options: {', '.join(sorted(known))}")
    if "model" not in options:
        raise ConfigError(f"{where}: model is required (a compressai.zoo name such as cheng2020-attn)")
    if preset.id is None:
        raise ConfigError(
            f"{preset.source or preset.name}: a compressai preset needs an id in 1..255 (stored in files)"
        )
    spec = ModelSpec(
        **{k: options[k] for k in ("model", "metric", "pretrained", "checkpoint", "seed", "device") if k in options}
    )
    ladder = spec.ladder()
    qualities = options.get("qualities")
    if qualities is not None and (not qualities or any(q not in ladder for q in qualities)):
        raise ConfigError(f"{where}: qualities must be rungs of {spec.model}'s ladder {ladder}")
    levels = list(qualities or ladder)
    return CompressAICodec(
        name=preset.name, spec=spec, codec_id=preset.id, qualities=levels, quality=options.get("quality", levels[0]),
        min_quality=min(levels), max_quality=max(levels),
    )  # fmt: skip
