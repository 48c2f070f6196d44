"""Any codec can take part (issue 20 acceptance 1): a `kind: python` preset, an installed package's entry point, a
`kind: command` codec running Debian's cjxl/djxl, results made elsewhere, a CompressAI random-weight model and MISC
with the compressai pixel backend — each through `aigi-scd encode`/`decode` (bpp = the file's bytes on disk) and
through one `aigi-scd compress` run, in the rows, the summary and the report."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, kodak_dir, run_cli
from PIL import Image

from aigi_scd.dataset.shards import iter_samples

CJXL = shutil.which("cjxl") and shutil.which("djxl")
needs_cjxl = pytest.mark.skipif(
    not CJXL, reason="libjxl-tools (cjxl, djxl) not installed: apt-get install libjxl-tools"
)
TARGET = 8.0  # random-weight networks need bits; 128×96 crops


def docs_block(name: str) -> str:
    """The fenced block of docs/codecs.md whose first line is ``# <name>``."""
    text = (REPO / "docs" / "codecs.md").read_text()
    for block in re.findall(r"```\w*\n(.*?)```", text, flags=re.S):
        if block.splitlines()[0].strip() == f"# {name}":
            return block
    raise AssertionError(f"docs/codecs.md has no block starting with # {name}")


def install_plugin(root: Path) -> Path:
    """tests/data/codec_plugin_pkg installed by pip into a folder put on sys.path: its entry points are live."""
    shutil.copytree(REPO / "tests" / "data" / "codec_plugin_pkg", root / "pkg")
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "--target", str(site), str(root / "pkg")],
        check=True, capture_output=True,
    )  # fmt: skip
    sys.path.insert(0, str(site))
    import importlib

    importlib.invalidate_caches()
    return site


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    site = install_plugin(tmp_path_factory.mktemp("plugin"))
    yield site
    sys.path.remove(str(site))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_site) -> Path:
    """Two 128×96 Kodak crops, the presets (python, command) and two folders of results made elsewhere."""
    work = tmp_path_factory.mktemp("plugins")
    images = work / "kodak2"
    images.mkdir()
    for name in ("kodim05", "kodim23"):
        crop = Image.open(kodak_dir() / f"{name}.png").convert("RGB").crop((300, 200, 428, 296))
        crop.save(images / f"{name}.png")
    plugins = work / "toyplugins"
    plugins.mkdir()
    (plugins / "__init__.py").write_text("")
    (plugins / "toy.py").write_text(docs_block("my_codecs/toy.py"))
    (work / "toy.yaml").write_text(docs_block("toy.yaml").replace("my_codecs.toy", "toyplugins.toy"))
    (work / "cjxl.yaml").write_text(docs_block("cjxl.yaml"))
    sys.path.insert(0, str(work))
    for verified in (True, False):  # thumb-avif files made "elsewhere", with and without a decoder to re-check
        folder = work / ("elsewhere" if verified else "unverified")
        (folder / "2").mkdir(parents=True)
        for path in sorted(images.iterdir()):
            key = f"kodak2-{path.stem}"
            run_cli("encode", path, "-o", folder / "2" / f"{key}.avif", "--codec", "thumb-avif", "--bpp", "2")
            run_cli("decode", folder / "2" / f"{key}.avif", "-o", folder / "2" / f"{key}.png")
        if verified:
            (folder / "codec.yaml").write_text(
                "name: elsewhere\nkind: external\ndescription: thumb-avif made elsewhere\n"
                "options: {decoder: thumb-avif}\n"
            )
    yield work
    sys.path.remove(str(work))


CODECS = ("toy", "thumb-png", "compressai-random", "misc-compressai-tiny")


@pytest.fixture(scope="module")
def compressed(workdir) -> Path:
    out = workdir / "out"
    codecs = ",".join(str(workdir / f"{c}.yaml") if c == "toy" else c for c in CODECS)
    run_cli(
        "compress", "--images", workdir / "kodak2", "--codecs", codecs, "--results", workdir / "elsewhere",
        "--results", workdir / "unverified", "--bpp", str(TARGET), "--metrics", "psnr,ssim",
        "--workers", "0", "--out", out, "--quiet",
    )  # fmt: skip
    return out


def test_every_kind_of_codec_is_in_the_rows_with_bpp_from_the_files_bytes(compressed):
    frame = pd.read_parquet(compressed / "benchmark" / "results.parquet")
    expected = {"toy", "thumb-png", "compressai-random", "misc-compressai-tiny", "elsewhere", "unverified"}
    assert set(frame["codec"]) == expected
    stored = {}
    for tar in (compressed / "compressed").glob("*/*.tar"):
        for sample in iter_samples(tar):
            stored[(tar.parent.name, sample["__key__"])] = sample
    ok = frame[frame["status"] == "ok"]
    assert set(ok["codec"]) == expected, frame[frame["status"] != "ok"][["codec", "target_bpp", "error"]]
    for _, row in ok.iterrows():
        sample = stored[(row["config"], row["key"])]
        assert row["bytes"] == len(sample["bitstream"])
        assert row["bpp"] == pytest.approx(8 * len(sample["bitstream"]) / (row["width"] * row["height"]))
        assert row["bpp"] <= row["target_bpp"]
    # results made elsewhere: at their own target only, bytes of the files as given, re-checked or marked not
    for name, verified in (("elsewhere", True), ("unverified", False)):
        rows = ok[ok["codec"] == name]
        assert set(rows["target_bpp"]) == {2.0} and len(rows) == 2
        assert list(rows["decode_verified"]) == [verified, verified]
        for _, row in rows.iterrows():
            given = compressed.parent / name / "2" / f"{row['key']}.avif"
            assert stored[(row["config"], row["key"])]["bitstream"] == given.read_bytes()
    fixed = ok.groupby("codec")["fixed_bytes"].first()
    assert fixed["toy"] == 15 and fixed["thumb-png"] == 61  # declared by the classes
    assert fixed["compressai-random"] < 12 and fixed["misc-compressai-tiny"] < 16


def test_every_codec_is_in_the_summary_and_the_report(compressed):
    summary = (compressed / "benchmark" / "summary.md").read_text()
    report = (compressed / "benchmark" / "report.html").read_text()
    for codec in (
        "toy",
        "thumb-png",
        "compressai-random",
        "misc-compressai-tiny",
        "elsewhere",
    ):
        assert f"| {codec} |" in summary or f"| {codec} (" in summary, codec
        assert codec in report
    assert "| unverified (decode not verified) |" in summary
    assert "| elsewhere |" in summary and "elsewhere (decode not verified)" not in summary


@needs_cjxl
def test_a_command_codec_runs_debians_cjxl_and_djxl_through_compress(workdir):
    out = workdir / "out-cjxl"
    args = ["compress", "--images", workdir / "kodak2", "--codecs", workdir / "cjxl.yaml", "--bpp", "2,8"]
    run_cli(*args, "--metrics", "psnr", "--out", out, "--quiet")
    frame = pd.read_parquet(out / "benchmark" / "results.parquet")
    assert set(frame["codec"]) == {"cjxl"} and (frame["status"] == "ok").all(), frame["error"]
    for tar in (out / "compressed").glob("*/*.tar"):
        for sample in iter_samples(tar):
            row = frame[(frame["config"] == tar.parent.name) & (frame["key"] == sample["__key__"])].iloc[0]
            assert row["bytes"] == len(sample["bitstream"]) and sample["bitstream"][:2] == b"\xff\x0a"  # a JPEG XL
    assert "| cjxl |" in (out / "benchmark" / "summary.md").read_text()
    assert "cjxl" in (out / "benchmark" / "report.html").read_text()


def _encode_decode(tmp_path: Path, image: Path, codec: str, bpp: float) -> tuple[Path, Image.Image]:
    out = tmp_path / "x.bin"
    printed = run_cli("encode", image, "-o", out, "--codec", codec, "--bpp", str(bpp)).output
    size = out.stat().st_size
    width, height = Image.open(image).size
    assert f"{size} bytes, {8 * size / (width * height):.4f} bpp" in printed
    assert 8 * size / (width * height) <= bpp
    run_cli("decode", out, "-o", tmp_path / "x.png", "--codec", codec)
    decoded = Image.open(tmp_path / "x.png")
    assert decoded.size == (width, height)
    return out, decoded


@pytest.mark.parametrize("codec", ["toy", "thumb-png", "compressai-random", "misc-compressai-tiny", "cjxl"])
def test_encode_and_decode_write_the_file_whose_bytes_are_its_bpp(codec, workdir, tmp_path):
    if codec == "cjxl" and not CJXL:
        pytest.skip("libjxl-tools (cjxl, djxl) not installed: apt-get install libjxl-tools")
    spec = str(workdir / f"{codec}.yaml") if codec in ("toy", "cjxl") else codec
    _encode_decode(tmp_path, workdir / "kodak2" / "kodim05.png", spec, 8.0)


def test_files_with_a_header_decode_without_naming_their_codec(workdir, tmp_path):
    for codec in ("compressai-random", "thumb-hevc", "jpeg2000"):
        out = tmp_path / f"{codec}.bin"
        run_cli("encode", workdir / "kodak2" / "kodim23.png", "-o", out, "--codec", codec, "--bpp", "8")
        assert f"from {codec}," in run_cli("decode", out, "-o", tmp_path / f"{codec}.png").output


def test_the_entry_point_codec_is_listed_with_its_package_and_fixed_bytes(plugin_site):
    listing = run_cli("list", "codecs").output
    line = next(i for i, text in enumerate(listing.splitlines()) if text.startswith("thumb-png "))
    block = listing.splitlines()[line : line + 3]
    assert "PNG of the largest power-of-two thumbnail" in block[0]
    assert "from: entry point aigi_scd.codecs:thumb-png = aigi_scd_test_plugin.codec:ThumbPng" in block[1]
    assert "(package aigi-scd-test-plugin 0.3.1)" in block[1]
    assert block[2].strip() == "fixed bytes: 61 B (declared)" or "61 B" in block[2]
    assert re.search(r"^avif .*\n\s+from: .*codec/avif\.yaml\n\s+fixed bytes: 275 B", listing, flags=re.M)
    assert re.search(r"^broken-plugin .*cannot import it: .*aigi_scd_missing_dependency", listing, flags=re.M)


def test_compressai_file_is_the_models_own_compress_output_and_decodes_as_its_decompress(workdir):
    import torch

    from aigi_scd.codec import get_codec
    from aigi_scd.codec.plugins.compressai_codec import PAD, parse_payload

    codec = get_codec("compressai-random")
    image = Image.open(workdir / "kodak2" / "kodim05.png").convert("RGB")
    encoded = codec.encode_report(image, 8.0)
    net = codec.spec.network(encoded.info["quality"])
    array = np.asarray(image, dtype=np.float32) / 255.0
    padded = np.pad(array, ((0, -array.shape[0] % PAD), (0, -array.shape[1] % PAD), (0, 0)), mode="edge")
    with torch.no_grad():
        own = net.compress(torch.from_numpy(padded).permute(2, 0, 1)[None])
        x_hat = net.decompress(own["strings"], own["shape"])["x_hat"]
    payload = parse_payload(encoded.data, 2)
    assert payload.strings == [s[0] for s in own["strings"]] and list(payload.shape) == list(own["shape"])
    assert len(encoded.data) - sum(map(len, payload.strings)) == encoded.info["fixed_bytes"] <= 12
    want = x_hat[0, :, : image.height, : image.width].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
    assert np.array_equal(np.asarray(codec.decode(encoded.data)), want)
    assert encoded.bpp == 8 * len(encoded.data) / (image.width * image.height) <= 8.0


def test_misc_with_the_compressai_pixel_layer_carries_the_models_strings(workdir):
    from aigi_scd.codec import get_codec
    from aigi_scd.codec.misc.bitstream import parse
    from aigi_scd.codec.misc.pixel import FORMAT_COMPRESSAI
    from aigi_scd.codec.plugins.compressai_codec import decompress_payload

    codec = get_codec("misc-compressai-tiny")
    image = Image.open(workdir / "kodak2" / "kodim23.png").convert("RGB")
    encoded = codec.encode_report(image, 2.0)
    section = parse(encoded.data).sections["pixel"]
    assert section[0] == FORMAT_COMPRESSAI
    thumbnail = decompress_payload(codec.pixel.model_spec(), section, 1)
    assert list(thumbnail.size) == encoded.info["thumbnail"]
    expected = thumbnail.resize(image.size, Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(codec.decode(encoded.data)), np.asarray(expected))


def test_any_knob_codec_becomes_a_thumbnail_codec_that_reaches_002_bpp(tmp_path):
    from aigi_scd.codec import get_codec

    image = Image.open(kodak_dir() / "kodim01.png").convert("RGB")
    for name in ("thumb-hevc", "thumb-jpegxl", "thumb-jpeg2000", "thumb-webp", "thumb-jpeg"):
        encoded = get_codec(name).encode_report(image, 0.02)
        assert 0.9 * 0.02 <= encoded.bpp <= 0.02, (name, encoded.bpp)
        assert get_codec(name).decode(encoded.data).size == image.size
    preset = tmp_path / "thumb-toy.yaml"
    preset.write_text("name: thumb-toy\nkind: thumbnail\noptions: {base: hevc, scales: [4, 8]}\n")
    assert get_codec(str(preset)).encode_report(image, 0.02).info["thumbnail"] in ([192, 128], [96, 64])


def test_a_local_checkpoint_gives_the_weights_it_holds(tmp_path):
    import torch

    from aigi_scd.codec import get_codec

    random = get_codec("compressai-random")
    torch.save(random.spec.network(1).state_dict(), tmp_path / "weights.pth.tar")
    preset = tmp_path / "mine.yaml"
    preset.write_text(
        "name: mine\nkind: compressai\nid: 200\n"
        f"options: {{model: bmshj2018-factorized, checkpoint: {tmp_path / 'weights.pth.tar'}, qualities: [1]}}\n"
    )
    mine = get_codec(str(preset))
    image = Image.open(kodak_dir() / "kodim05.png").convert("RGB").crop((0, 0, 128, 96))
    data = mine.encode_at(image, 1)
    assert data[:2] == b"\xca\xc8" and data[2:] == random.encode_at(image, 1)[2:]  # same network, another id
    assert np.array_equal(np.asarray(mine.decode(data)), np.asarray(random.decode(random.encode_at(image, 1))))


def test_a_command_codec_reading_and_writing_raw_yuv444p_planes_round_trips(tmp_path):
    """The `input: yuv444p` / `output: yuv444p` path the VTM example of docs/codecs.md relies on, with a program that
    copies the planes (coreutils' cp): the file is the three BT.709 full-range planes and the 4-byte size, and decoding
    gives the picture back within the rounding of the two conversions."""
    from aigi_scd.codec import get_codec

    preset = tmp_path / "planes.yaml"
    preset.write_text(
        "name: planes\nkind: command\noptions:\n"
        '  encode: [cp, "{input}", "{output}"]\n  decode: [cp, "{input}", "{output}"]\n'
        "  input: yuv444p\n  output: yuv444p\n  min_quality: 1\n  max_quality: 1\n"
    )
    codec = get_codec(str(preset))
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    pixels[0, 0] = (128, 128, 128)  # mid grey: Y = Cb = Cr = 128
    pixels[0, 1] = (255, 255, 255)  # white: Y = 255, Cb = Cr = 128
    data = codec.encode(Image.fromarray(pixels))
    assert len(data) == 3 * 40 * 24 + 4
    planes = np.frombuffer(data[:-4], np.uint8).reshape(3, 24, 40)
    assert tuple(planes[:, 0, 0]) == (128, 128, 128) and tuple(planes[:, 0, 1]) == (255, 128, 128)
    decoded = np.asarray(codec.decode(data), dtype=np.int16)
    assert decoded.shape == pixels.shape
    assert np.abs(decoded - pixels.astype(np.int16)).max() <= 2
