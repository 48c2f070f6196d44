"""The MISC container: round trips, precise errors, and docs/bitstream.md kept honest."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from aigi_scd.codec import BitstreamError
from aigi_scd.codec.misc.bitstream import MAGIC, SECTIONS, VERSION, MiscFile, Reader, checksum, parse, write_varint

SPEC = (REPO / "docs" / "bitstream.md").read_text()


def sample_file() -> MiscFile:
    return MiscFile(
        1,
        64,
        48,
        {
            "semantic": bytes.fromhex("0b0480"),
            "pixel": bytes.fromhex("0181000c004030"),
            "decoder": bytes.fromhex("2a1e"),
        },
    )


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16383, 16384, 2**32 - 1])
def test_varint_round_trip(value):
    assert Reader(write_varint(value)).varint("v") == value


def test_file_round_trip():
    original = sample_file()
    assert parse(original.to_bytes()) == original


@pytest.mark.parametrize(
    ("mutate", "reason", "offset"),
    [
        (lambda d: d[:5], "shorter than any MISC file", 0),
        (lambda d: b"\x89P" + d[2:], "wrong magic", 0),
        (lambda d: d[:2] + b"\x07" + d[3:], "format version 7 is not supported", 2),
        (lambda d: d[:-3] + bytes([d[-3] ^ 1]) + d[-2:], "checksum mismatch", None),
        (lambda d: d + b"\0", "checksum mismatch", None),
    ],
)
def test_damage_is_named_with_its_offset(mutate, reason, offset):
    with pytest.raises(BitstreamError) as info:
        parse(mutate(sample_file().to_bytes()))
    assert reason in str(info.value)
    if offset is not None:
        assert info.value.offset == offset and f"at byte {offset}" in str(info.value)


def test_bad_fields_behind_a_valid_checksum_are_caught():

    def sealed(body: bytes) -> bytes:
        return body + checksum(body).to_bytes(2, "big")

    body = sample_file().to_bytes()[:-2]
    with pytest.raises(BitstreamError, match="unknown section flags"):
        parse(sealed(body[:6] + b"\xff" + body[7:]))
    with pytest.raises(BitstreamError, match="truncated"):
        parse(sealed(body[:-4]))
    with pytest.raises(BitstreamError, match="unexpected bytes after the last section"):
        parse(sealed(body + b"\x00"))
    with pytest.raises(BitstreamError, match="width"):
        parse(sealed(MAGIC + bytes([VERSION, 1]) + write_varint(70000) + b"\x30\x00"))


def test_spec_constants_match_the_code():
    assert "| magic | 2 bytes | `a1 5c` |" in SPEC and bytes.fromhex("a15c") == MAGIC
    assert f"# MISC bitstream, format version {VERSION}" in SPEC
    rows = re.findall(r"^\| (\d) \| (\w+) \|", SPEC, re.M)
    assert [name for _, name in rows] == list(SECTIONS)
    assert [int(bit) for bit, _ in rows] == list(range(len(SECTIONS)))


def test_spec_worked_example_is_what_the_code_writes():
    example = re.search(r"## Worked example.*?```\n(.*?)\n```", SPEC, re.S).group(1)
    assert bytes.fromhex(example) == sample_file().to_bytes()
    assert parse(bytes.fromhex(example)) == sample_file()


def test_spec_states_the_avif_container_size():
    from aigi_scd.codec.formats.av1 import CONTAINER_BYTES

    assert f"{CONTAINER_BYTES} bytes the file" in SPEC
