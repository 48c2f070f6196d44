"""Rate control: MISC and thumb-avif land within 90–100% of the target; baselines hit it or say they cannot.

benchmarks/bench_codec.py checks the same on all 24 Kodak images; here a spread of 6 keeps CI fast.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import kodak_dir
from PIL import Image

from aigi_scd.codec import TargetUnreachableError, decode_file, get_codec

TARGETS = (0.02, 0.03, 0.05)


def kodak(indices=(0, 4, 9, 14, 19, 23)):
    paths = sorted(kodak_dir().glob("*.png"))
    return [Image.open(paths[i]).convert("RGB") for i in indices]


@pytest.mark.parametrize("name", ["misc-offline", "thumb-avif"])
def test_thumbnail_codecs_fill_90_to_100_percent(name):
    codec = get_codec(name)
    for image in kodak():
        for target in TARGETS:
            encoded = codec.encode_report(image, target)
            assert 0.9 * target <= encoded.bpp <= target, (name, target, encoded.bpp)
            assert encoded.bpp == 8 * len(encoded.data) / (image.size[0] * image.size[1])


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_baselines_hit_the_target_or_report_it_unreachable(name):
    codec = get_codec(name)
    for image in kodak((0, 9)):
        for target in (0.05, 0.5):
            try:
                encoded = codec.encode_report(image, target)
            except TargetUnreachableError as exc:
                assert exc.min_bpp > target and name in str(exc) and f"{target:g} bpp" in str(exc)
            else:
                assert encoded.bpp <= target
                decoded, _ = decode_file(encoded.data)
                assert decoded.size == image.size


def av1_bytes_of_misc(data: bytes) -> int:
    from aigi_scd.codec.misc.bitstream import Reader, parse

    reader = Reader(parse(data).sections["pixel"])
    reader.take(5, "format and av1C")
    reader.varint("w"), reader.varint("h")
    return reader.end - reader.pos


def test_misc_offline_spends_container_bytes_on_pixels():
    """Same image, same target: misc-offline's AV1 data gets the bytes thumb-avif spends on boxes."""
    from aigi_scd.codec.formats.av1 import split_avif

    image = kodak((2,))[0]
    misc = get_codec("misc-offline").encode(image, 0.02)
    thumb = get_codec("thumb-avif").encode(image, 0.02)
    assert av1_bytes_of_misc(misc) > len(split_avif(thumb).payload) + 200
    assert len(misc) <= 0.02 * 768 * 512 / 8 and len(thumb) <= 0.02 * 768 * 512 / 8


def test_decoding_twice_gives_identical_pixels():
    image = kodak((5,))[0]
    for name in ("misc-offline", "thumb-avif", "webp"):
        data = get_codec(name).encode(image, 0.03 if name != "webp" else 0.5)
        first, second = decode_file(data)[0], decode_file(data)[0]
        assert np.array_equal(np.asarray(first), np.asarray(second))
        assert first.size == image.size


def test_av1_levels_are_the_installed_encoders_distinct_files():
    """AV1_LEVELS lists the first libavif quality of each run of qualities that give the same file."""
    from aigi_scd.codec.formats.av1 import encode_avif
    from aigi_scd.codec.ratecontrol import AV1_LEVELS

    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    files = [encode_avif(noise, q, 10) for q in range(101)]
    firsts = [q for q in range(101) if q == 0 or files[q] != files[q - 1]]
    assert tuple(firsts) == AV1_LEVELS


def test_interpolation_search_agrees_with_a_scan():
    from aigi_scd.codec.ratecontrol import interpolation_search

    rng = np.random.default_rng(1)
    for _ in range(200):
        count = int(rng.integers(1, 70))
        sizes = np.cumsum(rng.integers(1, 80, count)) + int(rng.integers(0, 500))
        budget = int(rng.integers(0, int(sizes[-1]) + 100))
        probes: list[int] = []

        def cost(i: int, sizes=sizes, probes=probes) -> int:
            probes.append(i)
            return int(sizes[i])

        seeds = {int(i): int(sizes[i]) for i in rng.choice(count, int(rng.integers(0, min(count, 4) + 1)), False)}
        found = interpolation_search(cost, budget, count, int(rng.integers(0, count)), seeds)
        fitting = [i for i in range(count) if sizes[i] <= budget]
        assert found == (fitting[-1] if fitting else None)
        assert len(probes) <= 2 + 2 * count.bit_length()
        assert not set(probes) & set(seeds)  # what is known is never encoded again


def test_full_resolution_avif_interpolates_over_its_distinct_files_and_picks_the_bisections_file():
    """AVIF's search runs over the 64 files libavif's 101 qualities make, from the encodes of the image's other
    targets: the same file and quality as a bisection of every quality, in fewer encodes."""
    from aigi_scd.codec.errors import TargetUnreachableError
    from aigi_scd.codec.formats.baselines import AvifCodec

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:64, 0:96]
    smooth = np.stack([x * 2.5, y * 3.5, (x + y) * 1.5], axis=-1) + rng.normal(0, 12, (64, 96, 3))
    image = Image.fromarray(np.clip(smooth, 0, 255).astype(np.uint8))
    bisecting = AvifCodec(name="avif")
    bisecting.distinct_levels = lambda: None
    results, encodes = {}, {}
    for name, codec in (("interpolated", AvifCodec(name="avif")), ("bisected", bisecting)):
        cache: dict = {}
        results[name] = []
        for target in (0.3, 0.6, 1.0, 1.6, 2.5, 4.0):
            try:
                encoded = codec.encode_report(image, target, image_cache=cache)
                results[name].append((encoded.data, encoded.info["quality"]))
            except TargetUnreachableError as exc:
                results[name].append(("unreachable", exc.min_bpp))
        encodes[name] = len(cache["avif"])
    assert results["interpolated"] == results["bisected"]
    assert sum(r[0] != "unreachable" for r in results["bisected"]) >= 4, results["bisected"]
    assert encodes["interpolated"] < encodes["bisected"]


def test_the_search_reuses_its_encodes_for_a_larger_budget():
    """A MISC encode that shortens its text asks the same search again with more bytes: no encode is repeated."""
    from aigi_scd.codec.misc.pixel import PixelOptions, search

    image = kodak((3,))[0]
    budget = int(0.02 * 768 * 512 / 8)
    searcher = search(image, PixelOptions())
    first = searcher.fit(budget)
    after_first = searcher.encodes
    second = searcher.fit(budget + 200)
    fresh = search(image, PixelOptions())
    assert fresh.fit(budget + 200).avif == second.avif  # the cache changes the cost, not the answer
    assert searcher.encodes - after_first < fresh.encodes
    assert first.counted <= budget < second.counted <= budget + 200


@pytest.mark.parametrize("name", ["misc-offline", "thumb-avif"])
def test_an_unreachable_target_reports_a_smallest_bpp_the_codec_reaches(name):
    image = kodak((7,))[0]
    codec = get_codec(name)
    with pytest.raises(TargetUnreachableError) as caught:
        codec.encode_report(image, 0.001)
    smallest = caught.value.min_bpp
    assert 0.001 < smallest < 0.02
    assert codec.encode_report(image, smallest).bpp <= smallest  # the smallest file really is reachable


def test_one_image_cache_for_every_codec_and_target_writes_the_files_of_separate_encodes():
    """compress encodes an image at every codec and target with one image cache (codec/base.py: image_work): the
    thumbnail searches of misc-offline and thumb-avif share their AV1 encodes across targets and with each other,
    the quality searches their probes. Each file must be the one an encode of its own writes, for less work."""
    image = kodak((3,))[0].crop((0, 0, 384, 256))
    names, targets = ("misc-offline", "thumb-avif", "avif", "webp", "jpeg"), (0.05, 0.1, 0.3)

    def outcome(codec, target, **side):
        try:
            encoded = codec.encode_report(image, target, prompt=None, **side)
        except TargetUnreachableError as exc:
            return ("unreachable", exc.min_bpp), 0
        return encoded.data, encoded.info.get("encodes", encoded.info.get("pixel_encodes", 0))

    alone = {(n, t): outcome(get_codec(n), t) for n in names for t in targets}
    cache: dict = {}
    shared = {(n, t): outcome(get_codec(n), t, image_cache=cache) for n in names for t in targets}
    assert {k: v[0] for k, v in shared.items()} == {k: v[0] for k, v in alone.items()}
    assert any(isinstance(v[0], bytes) for v in alone.values())
    thumbs = [k for k in alone if k[0] in ("misc-offline", "thumb-avif")]
    assert sum(shared[k][1] for k in thumbs) < 0.9 * sum(alone[k][1] for k in thumbs)  # AV1 encodes run (100 → 82)


def test_the_searchs_integer_psnr_is_the_float_psnr_bit_for_bit():
    from aigi_scd.codec.formats.av1 import psnr
    from aigi_scd.codec.ratecontrol import exact_psnr

    rng = np.random.default_rng(7)
    for shape in ((512, 768, 3), (33, 17, 3), (1024, 1024, 3)):
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
        for x, y in ((a, b), (a, 255 - a), (a, a)):
            assert exact_psnr(x.astype(np.int16), y) == psnr(x, y)
