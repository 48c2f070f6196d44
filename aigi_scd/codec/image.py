"""Bring any input image to what the codecs work on: 8-bit RGB, within sane size limits."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from aigi_scd.codec.errors import ImageInputError

MAX_PIXELS = 64 * 1024 * 1024  # 64 MP: larger inputs are refused rather than exhausting memory
MAX_SIDE = 65535  # the bitstreams store sides as 16-bit-safe varints; AVIF and WebP limit sides too


def to_rgb8(image: Image.Image | np.ndarray | str | Path) -> Image.Image:
    """An 8-bit RGB PIL image from a path, a PIL image (any mode) or an HxW[xC] array.

    Greyscale is expanded to RGB; alpha is composited over white (the codecs carry no alpha);
    16-bit and float data are scaled to 8 bits.
    """
    if isinstance(image, (str, Path)):
        path = Path(image)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, with one line
                with Image.open(path) as opened:
                    _check_size(*opened.size)  # before any pixel is decoded: a header may claim 20000x20000
                    opened.load()
                    image = opened.copy()
        except FileNotFoundError:
            raise ImageInputError(f"image not found: {path}") from None
        except IsADirectoryError:
            raise ImageInputError(f"{path} is a folder, not an image file") from None
        except Image.DecompressionBombError as exc:  # a header claiming more than twice Pillow's own limit
            raise ImageInputError(
                f"cannot read image {path}: larger than the supported {MAX_PIXELS // 2**20} MP ({exc}); split it "
                "into tiles first"
            ) from None
        except Image.UnidentifiedImageError:
            raise ImageInputError(f"{path} is not an image file Pillow reads (PNG, JPEG, WebP, TIFF, ...)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageInputError(f"cannot read image {path}: {exc}") from None
    if isinstance(image, np.ndarray):
        image = _array_to_image(image)
    if not isinstance(image, Image.Image):
        raise ImageInputError(f"expected an image, a path or an array, got {type(image).__name__}")
    _check_size(*image.size)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit samples: scaled by their full range, so a
        data = np.asarray(image, dtype=np.float64)  # dark image (every value <= 255) stays dark
        image = Image.fromarray(np.clip(data / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif image.mode == "I":  # 32-bit integers: no declared depth; 8-bit range unless values exceed it
        data = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if data.max() > 255 else 255.0
        image = Image.fromarray(np.clip(data / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif image.mode == "F":
        data = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(data * (255.0 if data.max() <= 1.0 else 1.0) + 0.5, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageInputError(f"image has no pixels ({width}x{height})")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageInputError(
            f"image is {width}x{height}: larger than the supported {MAX_PIXELS // 2**20} MP "
            f"(sides up to {MAX_SIDE}); split it into tiles first"
        )


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageInputError(f"array of shape {array.shape} is not an HxW, HxWx1, HxWx3 or HxWx4 image")
    if array.dtype == np.uint16:
        array = (array.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        array = (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ImageInputError(f"array dtype {array.dtype} not supported (use uint8, uint16 or float in [0, 1])")
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0], mode="L")
    return Image.fromarray(array, mode="RGBA" if array.shape[2] == 4 else "RGB")


def bpp(num_bytes: int, width: int, height: int) -> float:
    """Bits per pixel of a file: every byte counts."""
    return 8.0 * num_bytes / (width * height)


def budget_bytes(target_bpp: float, width: int, height: int) -> int:
    """The most bytes a file may have to stay at or under `target_bpp` (a bpp computed from a byte count, such
    as a reported smallest bpp, gives that byte count back despite floating-point rounding)."""
    return math.floor(target_bpp * width * height / 8.0 + 1e-6)


# Output formats for a decoded image, by file extension: PNG is lossless; the others are for viewing.
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}


def output_format(path: Path) -> str:
    """The Pillow format an output file name asks for (``PNG`` for ``.png`` or no extension); ConfigError for
    an extension Pillow cannot write."""
    from aigi_scd.errors import ConfigError

    suffix = Path(path).suffix.lower()
    if suffix in ("", ".png"):
        return "PNG"
    Image.init()
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None or fmt not in Image.SAVE:
        raise ConfigError(
            f"-o {path}: {suffix} is not an image format Pillow writes; name the output .png (lossless), .jpg, "
            ".webp, .bmp, .tif or .ppm"
        )
    return fmt


def image_file_bytes(image: Image.Image, path: Path) -> bytes:
    """`image` encoded in the format its output file name asks for (:func:`output_format`: PNG, lossless, by
    default), so a file's name never lies about its content."""
    import io

    from aigi_scd.dataset.png import encode_png
    from aigi_scd.errors import ConfigError

    fmt = output_format(path)
    if fmt == "PNG":
        return encode_png(image)
    buffer = io.BytesIO()
    try:
        image.convert("RGB").save(buffer, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"-o {path}: cannot write an RGB image as {fmt} ({exc}); name the output .png") from None
    return buffer.getvalue()
