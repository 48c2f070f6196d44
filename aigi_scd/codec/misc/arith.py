"""A binary arithmetic coder with bit-level output, for the few dozen decisions of the region maps.

Written by hand (the classic Witten–Neal–Cleary integer coder, 32-bit state, 16-bit probabilities)
because library range coders such as constriction emit 32-bit words: for a map section of 13–30
bits they would round up to 4–8 bytes, more than the maps themselves. Here the output is the
shortest byte string that identifies the interval; trailing zero bytes are dropped, and the decoder
reads zeros past the end, so they come back for free.
"""

from __future__ import annotations

_BITS = 32
_FULL = (1 << _BITS) - 1
_HALF = 1 << (_BITS - 1)
_QUARTER = 1 << (_BITS - 2)
PROB_BITS = 16
PROB_ONE = 1 << PROB_BITS


def quantize(p1: float) -> int:
    """P(bit = 1) as a 16-bit integer in [1, 65535], the same on every machine for the same float."""
    return min(PROB_ONE - 1, max(1, int(p1 * PROB_ONE)))


class BitEncoder:
    def __init__(self) -> None:
        self.low, self.high, self.pending = 0, _FULL, 0
        self.bits: list[int] = []

    def _emit(self, bit: int) -> None:
        self.bits.append(bit)
        self.bits.extend([1 - bit] * self.pending)
        self.pending = 0

    def encode(self, bit: int, p1: int) -> None:
        """Code `bit` with P(1) = p1 / 65536."""
        span = self.high - self.low + 1
        split = self.low + ((span * (PROB_ONE - p1)) >> PROB_BITS) - 1
        if bit:
            self.low = split + 1
        else:
            self.high = split
        while True:
            if self.high < _HALF:
                self._emit(0)
            elif self.low >= _HALF:
                self._emit(1)
                self.low -= _HALF
                self.high -= _HALF
            elif self.low >= _QUARTER and self.high < 3 * _QUARTER:
                self.pending += 1
                self.low -= _QUARTER
                self.high -= _QUARTER
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1

    def encode_uniform(self, value: int, bits: int) -> None:
        for shift in range(bits - 1, -1, -1):
            self.encode((value >> shift) & 1, PROB_ONE // 2)

    def finish(self) -> bytes:
        self.pending += 1
        self._emit(0 if self.low < _QUARTER else 1)
        bits = self.bits + [0] * (-len(self.bits) % 8)
        data = bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))
        return data.rstrip(b"\0")


class BitDecoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0
        self.low, self.high = 0, _FULL
        self.value = 0
        for _ in range(_BITS):
            self.value = (self.value << 1) | self._next_bit()

    def _next_bit(self) -> int:
        index = self.position >> 3
        bit = (self.data[index] >> (7 - (self.position & 7))) & 1 if index < len(self.data) else 0
        self.position += 1
        return bit

    def decode(self, p1: int) -> int:
        span = self.high - self.low + 1
        split = self.low + ((span * (PROB_ONE - p1)) >> PROB_BITS) - 1
        bit = int(self.value > split)
        if bit:
            self.low = split + 1
        else:
            self.high = split
        while True:
            if self.high < _HALF:
                pass
            elif self.low >= _HALF:
                self.low -= _HALF
                self.high -= _HALF
                self.value -= _HALF
            elif self.low >= _QUARTER and self.high < 3 * _QUARTER:
                self.low -= _QUARTER
                self.high -= _QUARTER
                self.value -= _QUARTER
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1
            self.value = 2 * self.value + self._next_bit()
        return bit

    def decode_uniform(self, bits: int) -> int:
        value = 0
        for _ in range(bits):
            value = (value << 1) | self.decode(PROB_ONE // 2)
        return value
