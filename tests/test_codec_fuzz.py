"""Damaged files: whatever is flipped, cut or appended, decoding raises BitstreamError or succeeds — never
anything else, never a hang. Mutations are also re-sealed with a fresh checksum so the parser and the
layer decoders behind it are exercised, not just the CRC."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from aigi_scd.codec import BitstreamError, decode_file, get_codec
from aigi_scd.codec.misc.bitstream import checksum, is_misc_file


@pytest.fixture(scope="module", autouse=True)
def presets_read_once():
    """Each codec preset file (codec/*.yaml) parsed once for the module's thousands of decodes instead of once per
    decode: the files do not change, and parsing them is most of a decode's time here. Every decode still builds
    its codec from the preset (get_codec, or the registry's listing when sniffing) and decodes the bytes."""
    from aigi_scd.codec import presets

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(presets, "load_codec_preset_file", functools.cache(presets.load_codec_preset_file))
        yield


@functools.cache
def valid_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    image = Image.fromarray((rng.random((48, 64, 3)) * 60 + np.linspace(0, 180, 64)[None, :, None]).astype(np.uint8))
    prompt = {"text": "a striped pattern", "objects": [{"name": "stripes", "detail": "soft vertical bands"}]}
    return {
        "misc-offline": get_codec("misc-offline").encode(image, 1.5, prompt=prompt),
        "thumb-avif": get_codec("thumb-avif").encode(image, 1.5),
        "webp": get_codec("webp").encode(image, 2.0),
        "jpeg": get_codec("jpeg").encode(image, 4.0),
        "avif": get_codec("avif").encode(image, 2.0),
    }


def reseal(data: bytes) -> bytes:
    """Give a (mutated) MISC file a valid checksum again."""
    if len(data) < 3 or not is_misc_file(data):
        return data
    body = data[:-2]
    return body + checksum(body).to_bytes(2, "big")


def decode_or_bitstream_error(data: bytes, name: str | None = None) -> None:
    """Decode with the named codec (a flipped codec id must not send a misc-offline file to a codec that
    loads models), or by sniffing when no name is given."""
    try:
        image = get_codec(name).decode(data) if name else decode_file(data)[0]
    except BitstreamError:
        return
    assert image.mode == "RGB" and image.size[0] > 0


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("extend"), st.integers(1, 64), st.integers(0, 255)),
    st.tuples(st.just("splice"), st.integers(0, 10_000), st.integers(0, 255)),
)


def apply(data: bytes, mutation) -> bytes:
    kind, position, value = mutation
    if kind == "flip":
        i = position % len(data)
        return data[:i] + bytes([data[i] ^ value]) + data[i + 1 :]
    if kind == "cut":
        return data[: position % len(data)]
    if kind == "extend":
        return data + bytes([value]) * position
    i = position % len(data)
    return data[:i] + bytes([value]) + data[i:]


FUZZ = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    name=st.sampled_from(["misc-offline", "thumb-avif", "webp", "jpeg", "avif"]),
    steps=st.lists(mutations, min_size=1, max_size=4),
    seal=st.booleans(),
)
def test_mutated_files_raise_only_bitstream_error(name, steps, seal):
    data = valid_files()[name]
    for step in steps:
        data = apply(data, step) if data else data
    decode_or_bitstream_error(reseal(data) if seal else data, name)


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_raise_only_bitstream_error(data):
    if not is_misc_file(data):  # sniffing random bytes that start like a MISC file may pick any codec id
        decode_or_bitstream_error(data)
    decode_or_bitstream_error(data, "misc-offline")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_random_bodies_behind_the_magic_raise_only_bitstream_error(body):
    decode_or_bitstream_error(reseal(b"\xa1\x5c\x01\x01" + body + b"\0\0"), "misc-offline")


def test_the_valid_files_decode():
    for name, data in valid_files().items():
        image, codec = decode_file(data)
        assert image.size == (64, 48) and codec.name == name
