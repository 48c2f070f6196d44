"""How many bytes of a plain image file are header and container rather than coded picture, per format, so a
reader sees what a gap between two codecs at 0.02 bpp is made of (an AVIF file spends ~275 bytes on boxes).

Each parser walks the format's own structure: ISOBMFF boxes (AVIF, HEIF: all but the ``mdat`` payload), JPEG
markers (all but the entropy-coded scan data), RIFF chunks (WebP: all but the VP8/VP8L payload), and JPEG 2000
codestream markers (all but the tile data after each SOD). Written by hand: these are a few lines each, and no
library reports them. A file a parser does not understand gives None.
"""

from __future__ import annotations

import struct


def isobmff_fixed(data: bytes) -> int | None:
    """AVIF/HEIF: every byte but the payload of the top-level ``mdat`` boxes."""
    offset, payload = 0, 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1 and offset + 16 <= len(data):
            size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
        elif size == 0:
            size = len(data) - offset
        if size < header or offset + size > len(data):
            return None
        if kind == b"mdat":
            payload += size - header
        offset += size
    return len(data) - payload if offset == len(data) else None


def jpeg_fixed(data: bytes) -> int | None:
    """JPEG: markers and their segments; the scan data after each SOS (up to the next non-RST marker) is the
    picture."""
    if data[:2] != b"\xff\xd8":
        return None
    offset, scan = 2, 0
    while offset + 2 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xD9:  # EOI
            return len(data) - scan
        if offset + 4 > len(data):
            return None
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        offset += 2 + length
        if marker == 0xDA:  # SOS: entropy-coded data follows until a marker that is not RSTn or a stuffed 0xFF00
            start = offset
            while offset + 1 < len(data):
                if data[offset] == 0xFF and data[offset + 1] != 0x00 and not 0xD0 <= data[offset + 1] <= 0xD7:
                    break
                offset += 1
            scan += offset - start
    return None


def webp_fixed(data: bytes) -> int | None:
    """WebP: the RIFF header and chunk headers (and any chunk but the VP8/VP8L bitstream)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    offset, payload = 12, 0
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        size = struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if kind in (b"VP8 ", b"VP8L"):
            payload += size
        offset += 8 + size + (size & 1)
    return len(data) - payload if offset >= len(data) else None


def j2k_fixed(data: bytes) -> int | None:
    """A JPEG 2000 codestream (SOC ... EOC): main and tile-part headers; the bytes after each SOD are the picture."""
    if data[:4] != b"\xff\x4f\xff\x51":
        return None
    offset, tiles = 2, 0
    while offset + 2 <= len(data):
        marker = struct.unpack(">H", data[offset : offset + 2])[0]
        if marker == 0xFFD9:  # EOC
            return len(data) - tiles
        if offset + 4 > len(data):
            return None
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if marker == 0xFF90:  # SOT: Psot is the tile-part's length from the SOT marker on
            psot = struct.unpack(">I", data[offset + 6 : offset + 10])[0]
            end = offset + psot if psot else len(data) - 2
            inner = offset + 2 + length
            while inner + 2 <= end and data[inner : inner + 2] != b"\xff\x93":
                inner += 2 + struct.unpack(">H", data[inner + 2 : inner + 4])[0]
            tiles += end - (inner + 2)
            offset = end
            continue
        offset += 2 + length
    return None
