"""``kind: command``: an external encoder and decoder program, given as argument templates.

The encoder reads the image (``{input}``: PNG, PPM or raw 8-bit YCbCr 4:4:4) and writes the bitstream
(``{output}``); the file it writes is the bitstream, byte for byte, and is what bpp counts. The decoder reads that
file (``{input}``) and writes the reconstruction (``{output}``). Placeholders: ``{input}``, ``{output}``,
``{quality}``, ``{width}``, ``{height}``, ``{dir}`` (the scratch folder). The knob runs from ``min_quality`` to
``max_quality`` in ``step``s; ``direction: down`` says a larger value makes a smaller file (a quantiser). Raw
YCbCr output carries no size, so with ``output: yuv444p`` the file ends with 4 more bytes (width, height).
Each run has a ``timeout``; a program that is missing, exits non-zero, times out or writes nothing is reported in
one line naming the codec, the command and the fix.
"""

from __future__ import annotations

import io
import shlex
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.knob import KnobCodec
from aigi_scd.codec.plugins.python_class import PluginError
from aigi_scd.config import from_mapping
from aigi_scd.errors import ConfigError

PLACEHOLDERS = ("input", "output", "quality", "width", "height", "dir")
SUFFIX = {"png": ".png", "ppm": ".ppm", "yuv444p": ".yuv"}
# BT.709, full range (as CompressAI's rgb2ycbcr): for programs that read raw YCbCr, such as VTM.
_KR, _KB = 0.2126, 0.0722


def rgb_to_yuv444p(image: Image.Image) -> bytes:
    rgb = np.asarray(image, dtype=np.float64) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = _KR * r + (1 - _KR - _KB) * g + _KB * b
    cb = 0.5 + (b - y) / (2 * (1 - _KB))
    cr = 0.5 + (r - y) / (2 * (1 - _KR))
    planes = np.stack([y, cb, cr])
    return np.clip(np.round(planes * 255.0), 0, 255).astype(np.uint8).tobytes()


def yuv444p_to_rgb(data: bytes, width: int, height: int) -> Image.Image:
    if len(data) != 3 * width * height:
        raise BitstreamError(f"the decoder wrote {len(data)} bytes of YCbCr, not 3×{width}×{height}")
    y, cb, cr = np.frombuffer(data, np.uint8).reshape(3, height, width).astype(np.float64) / 255.0
    r = y + 2 * (1 - _KR) * (cr - 0.5)
    b = y + 2 * (1 - _KB) * (cb - 0.5)
    g = (y - _KR * r - _KB * b) / (1 - _KR - _KB)
    rgb = np.clip(np.round(np.stack([r, g, b], axis=-1) * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb)


@dataclass
class CommandCodec(KnobCodec):
    encode_command: list[str] = field(default_factory=list, metadata={"key": "encode"})
    decode_command: list[str] = field(default_factory=list, metadata={"key": "decode"})
    step: int = 1
    direction: Literal["up", "down"] = "up"  # up: a larger value makes a larger file
    input: Literal["png", "ppm", "yuv444p"] = "png"
    output: Literal["png", "ppm", "yuv444p"] = "png"
    suffix: str = ".bin"  # the bitstream's file name ending (some programs choose the format by it)
    timeout: float = 120.0
    fixed_bytes_declared: int | None = field(default=None, metadata={"internal": True})

    def levels(self) -> list[int]:
        values = list(range(self.min_quality, self.max_quality + 1, self.step))
        return values if self.direction == "up" else values[::-1]

    def _run(self, template: list[str], values: dict[str, object], what: str) -> None:
        argv = [part.format(**values) for part in template]
        shown = shlex.join(argv)
        try:
            done = subprocess.run(argv, capture_output=True, timeout=self.timeout, cwd=values["dir"], check=False)
        except FileNotFoundError:
            raise ConfigError(
                f"codec {self.name!r}: the {what} program {argv[0]!r} is not installed or not on PATH; install it "
                f"(for example with apt-get) or give its full path in the {what} template"
            ) from None
        except PermissionError:
            raise ConfigError(f"codec {self.name!r}: {argv[0]!r} is not executable; chmod +x it") from None
        except subprocess.TimeoutExpired:
            raise PluginError(
                f"codec {self.name!r}: the {what} command did not finish within {self.timeout:g} s ({shown}); "
                "raise options.timeout or make it faster"
            ) from None
        if done.returncode != 0:
            said = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
            tail = f": {said[-1].strip()}" if said else ""
            raise PluginError(
                f"codec {self.name!r}: the {what} command exited with status {done.returncode}{tail} ({shown}); "
                f"check the {what} template"
            )

    def _written(self, path: Path, template: list[str], what: str) -> bytes:
        if not path.is_file() or path.stat().st_size == 0:
            raise PluginError(
                f"codec {self.name!r}: the {what} command exited 0 but wrote nothing to {{output}} "
                f"({shlex.join(template)}); make it write its result to the path given as {{output}}"
            )
        return path.read_bytes()

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        width, height = image.size
        with tempfile.TemporaryDirectory(prefix="aigi-scd-cmd-") as scratch:
            folder = Path(scratch)
            source, target = folder / f"input{SUFFIX[self.input]}", folder / f"bitstream{self.suffix}"
            if self.input == "yuv444p":
                source.write_bytes(rgb_to_yuv444p(image))
            else:
                buffer = io.BytesIO()
                image.save(buffer, format=self.input.upper())
                source.write_bytes(buffer.getvalue())
            values = {"input": source, "output": target, "quality": level, "width": width, "height": height}
            self._run(self.encode_command, {**values, "dir": folder}, "encode")
            data = self._written(target, self.encode_command, "encode")
        return data + (struct.pack(">HH", width, height) if self.output == "yuv444p" else b"")

    def decode(self, data: bytes) -> Image.Image:
        size = None
        if self.output == "yuv444p":
            if len(data) < 5:
                raise BitstreamError("too short for a bitstream and its 4-byte size", 0)
            size, data = struct.unpack(">HH", data[-4:]), data[:-4]
        with tempfile.TemporaryDirectory(prefix="aigi-scd-cmd-") as scratch:
            folder = Path(scratch)
            source, target = folder / f"bitstream{self.suffix}", folder / f"decoded{SUFFIX[self.output]}"
            source.write_bytes(data)
            values = {"input": source, "output": target, "quality": "", "dir": folder}
            values.update(width=size[0] if size else "", height=size[1] if size else "")
            try:
                self._run(self.decode_command, values, "decode")
                written = self._written(target, self.decode_command, "decode")
            except PluginError as exc:  # decoding raises one documented type
                raise BitstreamError(str(exc)) from None
        if size is not None:
            return yuv444p_to_rgb(written, *size)
        try:
            with Image.open(io.BytesIO(written)) as opened:
                opened.load()
                return opened.convert("RGB")
        except Exception as exc:
            raise BitstreamError(
                f"codec {self.name!r}: the decoder's output is not a readable {self.output.upper()} image ({exc})"
            ) from None

    def fixed_bytes(self, data: bytes) -> int | None:
        extra = 4 if self.output == "yuv444p" else 0
        return None if self.fixed_bytes_declared is None else self.fixed_bytes_declared + extra


def build_command(preset) -> CommandCodec:
    where = f"{preset.source or preset.name}: options"
    codec = from_mapping(CommandCodec, {"name": preset.name, **preset.options}, where)
    for what, template in (("encode", codec.encode_command), ("decode", codec.decode_command)):
        if not template or not all(isinstance(part, str) for part in template):
            raise ConfigError(f"{where}: {what} must be a list of arguments such as [cjxl, '{{input}}', '{{output}}']")
        try:
            [part.format(**dict.fromkeys(PLACEHOLDERS, "x")) for part in template]
        except (KeyError, IndexError, ValueError) as exc:
            names = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ConfigError(f"{where}: {what} has an unknown placeholder {exc}; use {names}") from None
        if not any("{output}" in part for part in template) or not any("{input}" in part for part in template):
            raise ConfigError(f"{where}: {what} must name both {{input}} and {{output}}")
    if codec.min_quality > codec.max_quality or codec.step < 1:
        raise ConfigError(f"{where}: need min_quality <= max_quality and step >= 1")
    if codec.timeout <= 0:
        raise ConfigError(f"{where}: timeout must be a positive number of seconds")
    if codec.quality not in codec.levels():
        codec.quality = codec.levels()[len(codec.levels()) // 2]
    codec.fixed_bytes_declared = preset.fixed_bytes
    return codec
