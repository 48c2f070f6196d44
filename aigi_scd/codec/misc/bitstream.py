"""The MISC file format (spec: docs/bitstream.md): a small header, length-prefixed sections, a checksum.

Every read is bounds-checked and every failure is a BitstreamError naming the byte, so a truncated,
corrupted, extended or foreign file never gets further than this module with a bad value.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.image import MAX_PIXELS, MAX_SIDE

MAGIC = b"\xa1\x5c"
VERSION = 1
SECTIONS = ("semantic", "maps", "pixel", "decoder")  # in file order; flag bit i marks section i present
CHECKSUM_BYTES = 2
MIN_FILE = len(MAGIC) + 1 + 1 + 1 + 1 + 1 + CHECKSUM_BYTES


def checksum(data: bytes) -> int:
    """CRC-16/GENIBUS (poly 0x1021, init 0xFFFF, final XOR 0xFFFF). The final XOR matters: without it,
    appending the checksum's first byte plus a zero to a file would leave the checksum valid."""
    return binascii.crc_hqx(data, 0xFFFF) ^ 0xFFFF


def write_varint(value: int) -> bytes:
    """Unsigned LEB128."""
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Reader:
    """Bounds-checked reads over a byte string; errors carry the offset."""

    def __init__(self, data: bytes, start: int = 0, end: int | None = None):
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or self.pos + count > self.end:
            raise BitstreamError(f"truncated: {what} needs {count} bytes, {self.end - self.pos} left", self.pos)
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def varint(self, what: str, limit: int = 2**32 - 1) -> int:
        start = self.pos
        value = shift = 0
        for _ in range(5):
            byte = self.byte(what)
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                if value > limit:
                    raise BitstreamError(f"{what} is {value}, above the limit {limit}", start)
                return value
        raise BitstreamError(f"{what}: varint longer than 5 bytes", start)

    def rest(self) -> bytes:
        return self.take(self.end - self.pos, "rest")


@dataclass
class MiscFile:
    """The parsed content of a MISC file: header fields and raw section payloads."""

    codec_id: int
    width: int
    height: int
    sections: dict[str, bytes] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}")
        flags = sum(1 << i for i, name in enumerate(SECTIONS) if name in self.sections)
        out = bytearray(MAGIC)
        out.append(VERSION)
        out += write_varint(self.codec_id) + write_varint(self.width) + write_varint(self.height)
        out.append(flags)
        for name in SECTIONS:
            if name in self.sections:
                payload = self.sections[name]
                out += write_varint(len(payload)) + payload
        out += checksum(bytes(out)).to_bytes(CHECKSUM_BYTES, "big")
        return bytes(out)


def is_misc_file(data: bytes) -> bool:
    return data[: len(MAGIC)] == MAGIC


def parse(data: bytes) -> MiscFile:
    """Parse and verify a MISC file. Raises BitstreamError for anything but a whole, intact file."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BitstreamError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < MIN_FILE:
        raise BitstreamError(f"file is {len(data)} bytes, shorter than any MISC file ({MIN_FILE})", 0)
    if not is_misc_file(data):
        raise BitstreamError("not a MISC file (wrong magic bytes)", 0)
    if data[2] != VERSION:
        raise BitstreamError(f"format version {data[2]} is not supported (this reader knows version {VERSION})", 2)
    body, stored = data[:-CHECKSUM_BYTES], int.from_bytes(data[-CHECKSUM_BYTES:], "big")
    if checksum(body) != stored:
        raise BitstreamError(
            "checksum mismatch: the file is corrupted, truncated or extended", len(data) - CHECKSUM_BYTES
        )
    reader = Reader(body, start=3)
    codec_id = reader.varint("codec id", limit=255)
    width = reader.varint("width", limit=MAX_SIDE)
    height = reader.varint("height", limit=MAX_SIDE)
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise BitstreamError(f"image size {width}x{height} is out of range", 3)
    flags_at = reader.pos
    flags = reader.byte("flags")
    if flags >> len(SECTIONS):
        raise BitstreamError(f"unknown section flags 0x{flags:02x}", flags_at)
    sections = {}
    for i, name in enumerate(SECTIONS):
        if flags & (1 << i):
            length = reader.varint(f"{name} section length")
            sections[name] = reader.take(length, f"{name} section")
    if reader.pos != reader.end:
        raise BitstreamError(f"{reader.end - reader.pos} unexpected bytes after the last section", reader.pos)
    return MiscFile(codec_id, width, height, sections)
