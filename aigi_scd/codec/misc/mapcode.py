"""Entropy coding of coarse region maps (one G×G binary map per salient object; MISC uses 8×8).

Each map is an axis-aligned rectangle (four coordinates: 2 + 4·log2(G) bits, 14 for 8×8), empty
(2 bits), or a free-form bitmap whose cells are coded with a Bernoulli model conditioned on the
left, upper and upper-left cells, starting from priors for compact regions and adapting as it goes.
MISC sends 64 raw bits per 8×8 map.
"""

from __future__ import annotations

import numpy as np

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.misc.arith import PROB_ONE, BitDecoder, BitEncoder, quantize

RECT, BITMAP, EMPTY = 0, 1, 2
MAX_GRID = 32
MAX_MAPS = 16
# Prior P(cell on) per context (left | up << 1 | up-left << 2), as for compact blobs; weight in pseudo-counts.
_PRIOR = np.array([0.06, 0.7, 0.7, 0.95, 0.15, 0.6, 0.6, 0.97])
_PRIOR_WEIGHT = 4.0


def _kind(grid: np.ndarray) -> int:
    if not grid.any():
        return EMPTY
    ys, xs = np.nonzero(grid)
    box = np.zeros_like(grid)
    box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    return RECT if np.array_equal(box, grid) else BITMAP


def _coord_bits(grid_size: int) -> int:
    return max(1, int(np.ceil(np.log2(grid_size))))


class _ContextModel:
    """P(cell = 1 | left, up, up-left): a prior for compact regions, updated with the cells seen."""

    def __init__(self) -> None:
        self.ones = _PRIOR * _PRIOR_WEIGHT
        self.total = np.full(8, _PRIOR_WEIGHT)

    @staticmethod
    def context(grid: np.ndarray, y: int, x: int) -> int:
        left = grid[y, x - 1] if x else 0
        up = grid[y - 1, x] if y else 0
        up_left = grid[y - 1, x - 1] if x and y else 0
        return int(left) | int(up) << 1 | int(up_left) << 2

    def p1(self, ctx: int) -> int:
        return quantize(float(self.ones[ctx] / self.total[ctx]))

    def update(self, ctx: int, bit: int) -> None:
        self.ones[ctx] += bit
        self.total[ctx] += 1


def _encode_kind(encoder: BitEncoder, kind: int) -> None:
    encoder.encode(int(kind != RECT), quantize(0.35))  # rectangles are the common case
    if kind != RECT:
        encoder.encode(int(kind == EMPTY), quantize(0.25))


def _decode_kind(decoder: BitDecoder) -> int:
    if not decoder.decode(quantize(0.35)):
        return RECT
    return EMPTY if decoder.decode(quantize(0.25)) else BITMAP


def encode_maps(maps: list[np.ndarray], grid_size: int) -> bytes:
    """Code binary maps of shape (grid_size, grid_size); the 1-byte header holds grid size and count."""
    if not 1 <= grid_size <= MAX_GRID or len(maps) > MAX_MAPS:
        raise ValueError(f"grid size must be 1..{MAX_GRID} and at most {MAX_MAPS} maps")
    encoder = BitEncoder()
    bits = _coord_bits(grid_size)
    context = _ContextModel()
    for grid in maps:
        grid = np.asarray(grid, dtype=bool)
        if grid.shape != (grid_size, grid_size):
            raise ValueError(f"map of shape {grid.shape}, expected {(grid_size, grid_size)}")
        kind = _kind(grid)
        _encode_kind(encoder, kind)
        if kind == RECT:
            ys, xs = np.nonzero(grid)
            for value in (xs.min(), ys.min(), xs.max(), ys.max()):
                encoder.encode_uniform(int(value), bits)
        elif kind == BITMAP:
            for y in range(grid_size):
                for x in range(grid_size):
                    ctx = context.context(grid, y, x)
                    bit = int(grid[y, x])
                    encoder.encode(bit, context.p1(ctx))
                    context.update(ctx, bit)
    return bytes([grid_size - 1, len(maps)]) + encoder.finish()


def decode_maps(data: bytes) -> list[np.ndarray]:
    if len(data) < 2:
        raise BitstreamError("map section is shorter than its 2-byte header")
    grid_size, count = data[0] + 1, data[1]
    if grid_size > MAX_GRID or count > MAX_MAPS:
        raise BitstreamError(f"map section declares grid {grid_size} and {count} maps (limits {MAX_GRID}, {MAX_MAPS})")
    decoder = BitDecoder(data[2:])
    bits = _coord_bits(grid_size)
    context = _ContextModel()
    maps = []
    for _ in range(count):
        grid = np.zeros((grid_size, grid_size), dtype=bool)
        kind = _decode_kind(decoder)
        if kind == RECT:
            x0, y0, x1, y1 = (decoder.decode_uniform(bits) for _ in range(4))
            if not (x0 <= x1 < grid_size and y0 <= y1 < grid_size):
                raise BitstreamError(f"region map rectangle ({x0},{y0})-({x1},{y1}) is outside the {grid_size}-grid")
            grid[y0 : y1 + 1, x0 : x1 + 1] = True
        elif kind == BITMAP:
            for y in range(grid_size):
                for x in range(grid_size):
                    ctx = context.context(grid, y, x)
                    bit = decoder.decode(context.p1(ctx))
                    grid[y, x] = bool(bit)
                    context.update(ctx, bit)
        maps.append(grid)
    return maps


def box_to_grid(box: tuple[float, float, float, float], grid_size: int) -> np.ndarray:
    """The cells a box (fractions x0, y0, x1, y1) touches on a grid_size × grid_size grid."""
    x0, y0, x1, y1 = (min(max(float(v), 0.0), 1.0) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    grid = np.zeros((grid_size, grid_size), dtype=bool)
    cx0, cy0 = min(int(x0 * grid_size), grid_size - 1), min(int(y0 * grid_size), grid_size - 1)
    cx1 = max(cx0, min(grid_size - 1, int(np.ceil(x1 * grid_size)) - 1))
    cy1 = max(cy0, min(grid_size - 1, int(np.ceil(y1 * grid_size)) - 1))
    grid[cy0 : cy1 + 1, cx0 : cx1 + 1] = True
    return grid


def mask_to_grid(mask: np.ndarray, grid_size: int, threshold: float = 0.5) -> np.ndarray:
    """A soft or binary mask (any size, values in [0, 1]) to a grid: a cell is on where the mask's mean
    over it is at least `threshold`."""
    from PIL import Image

    resized = Image.fromarray((np.clip(mask, 0, 1) * 255).astype(np.uint8)).resize(
        (grid_size, grid_size), Image.Resampling.BOX
    )
    return np.asarray(resized) >= threshold * 255


__all__ = ["PROB_ONE", "box_to_grid", "decode_maps", "encode_maps", "mask_to_grid"]
