"""The catalogue of bad inputs (issue 12 acceptance 2): every command, every kind of mistake, one test each.

Each case must end with a non-zero exit and exactly one `Error:` line that names the problem (and, through
the case's expected words, the fix) — never a traceback, never the catch-all line for bugs. `-v` shows the
traceback. Valid but unusual images (greyscale, RGBA, palette, 16-bit, CMYK) are handled, not refused.
Long because it is a catalogue: one short case per bad input, grouped by command.
"""

from __future__ import annotations

import shutil
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from PIL import Image

CASES = []


def case(name: str, expected: str, code: int = 1):
    """Register a bad-input case: `make(tmp_path, request)` returns the command line; the one error line must
    contain `expected`; `code` is 1 for problems aigi-scd names, 2 for command-line usage errors."""

    def register(make):
        CASES.append(pytest.param(make, expected, code, id=name))
        return make

    return register


def image(path: Path, mode: str = "RGB", size=(64, 48)) -> Path:
    rng = np.random.default_rng(0)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width × height, with a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)))
    return path


def text_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def misc_file(t: Path) -> Path:
    out = t / "img.misc"
    run_cli("encode", image(t / "in.png"), "-o", out, "--bpp", "2", "--codec", "misc-offline")
    return out


def preset(t: Path, body: str, name: str = "mine") -> Path:
    return text_file(t / f"{name}.yaml", f"name: {name}\n{body}")


def card(t: Path, changes: dict[str, str]) -> Path:
    """The tiny-sdxl card with text replaced."""
    text = (REPO / "pipelines" / "tiny-sdxl.yaml").read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text_file(t / "card.yaml", text)


def build_copy(t: Path, request) -> Path:
    out = t / "build"
    shutil.copytree(request.getfixturevalue("tiny_build"), out)
    return out


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


BUILD = ["build", "--models", "tiny-sdxl", "--num-prompts", "1", "--quiet"]

# --- encode -------------------------------------------------------------------------------------------------


@case("encode-missing-image", "image not found")
def _(t, r):
    return ["encode", t / "nope.png", "-o", t / "x.misc"]


@case("encode-folder-as-image", "is a directory", code=2)
def _(t, r):
    return ["encode", t, "-o", t / "x.misc"]


@case("encode-non-image-file", "is not an image file Pillow reads")
def _(t, r):
    return ["encode", text_file(t / "notes.png", "hello"), "-o", t / "x.misc"]


@case("encode-empty-file", "is not an image file Pillow reads")
def _(t, r):
    return ["encode", text_file(t / "empty.png", ""), "-o", t / "x.misc"]


@case("encode-truncated-image", "cannot read image")
def _(t, r):
    path = image(t / "cut.png", size=(256, 256))
    truncate(path)
    return ["encode", path, "-o", t / "x.misc"]


@case("encode-header-claims-20000x20000", "larger than the supported 64 MP")
def _(t, r):
    return ["encode", png_header_only(t / "huge.png", 20000, 20000), "-o", t / "x.misc"]


@case("encode-header-claims-9000x9000", "image is 9000x9000: larger than the supported 64 MP")
def _(t, r):
    return ["encode", png_header_only(t / "big.png", 9000, 9000), "-o", t / "x.misc"]


@case("encode-bpp-nan", "Invalid value for '--bpp': 'nan' is not a finite number of bits per pixel", code=2)
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--bpp", "nan"]


@case("encode-bpp-inf", "Invalid value for '--bpp': 'inf' is not a finite number of bits per pixel", code=2)
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--bpp", "inf"]


@case("encode-bpp-negative", "Invalid value for '--bpp': -1.0 is not in the range x>0", code=2)
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--bpp", "-1"]


@case("encode-bpp-not-a-number", "'--bpp': 'low' is not a valid float", code=2)
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--bpp", "low"]


@case("encode-target-unreachable", "jpeg cannot reach 0.001 bpp on this image")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.jpg", "--bpp", "0.001", "--codec", "jpeg"]


@case("encode-unknown-codec", "unknown codec 'misc-ofline' (did you mean 'misc-offline'?)")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--codec", "misc-ofline"]


@case("encode-unknown-level", "has no level 'ultra'; levels: low, mid, high")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--level", "ultra"]


@case("encode-bpp-and-level", "give --bpp or --level, not both")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--level", "low", "--bpp", "0.1"]


@case("encode-output-under-a-file", "a file is in the way")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", text_file(t / "f", "x") / "x.misc", "--bpp", "2"]


@case("encode-output-is-a-folder", "is a directory", code=2)
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t, "--bpp", "2"]


@case("preset-option-wrong-type", "options.quality: expected an integer, got 'abc'")
def _(t, r):
    codec = preset(t, "kind: jpeg\noptions: {quality: abc}\n")
    return ["encode", image(t / "a.png"), "-o", t / "x.jpg", "--codec", codec]


@case("preset-option-unknown-key", "options: unknown key 'qualty' (did you mean 'quality'?)")
def _(t, r):
    codec = preset(t, "kind: jpeg\noptions: {qualty: 80}\n")
    return ["encode", image(t / "a.png"), "-o", t / "x.jpg", "--codec", codec]


@case("preset-option-out-of-range", "options: quality must be in [0, 100], got 300")
def _(t, r):
    codec = preset(t, "kind: webp\noptions: {quality: 300}\n")
    return ["encode", image(t / "a.png"), "-o", t / "x.webp", "--codec", codec]


@case("preset-misc-empty-scales", "pixel: scales: the list is empty")
def _(t, r):
    codec = preset(t, "kind: misc\nid: 77\npixel: {scales: []}\n")
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--codec", codec, "--bpp", "1"]


@case("preset-misc-min-fill-5", "pixel: min_fill must be in (0, 1], got 5.0")
def _(t, r):
    codec = preset(t, "kind: misc\nid: 77\npixel: {min_fill: 5}\n")
    return ["encode", image(t / "a.png"), "-o", t / "x.misc", "--codec", codec, "--bpp", "1"]


@case("preset-unknown-kind", "kind: expected one of 'misc', 'thumb-avif', 'avif', 'webp', 'jpeg', 'hevc', 'jpegxl',")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x", "--codec", preset(t, "kind: png\n")]


@case("preset-invalid-yaml", "invalid YAML")
def _(t, r):
    return ["encode", image(t / "a.png"), "-o", t / "x", "--codec", preset(t, "kind: [jpeg\n")]


# --- decode -------------------------------------------------------------------------------------------------


@case("decode-missing-file", "cannot read")
def _(t, r):
    return ["decode", t / "nope.misc", "-o", t / "x.png"]


@case("decode-random-bytes", "invalid bitstream at byte 0: not a file any aigi-scd codec writes")
def _(t, r):
    return ["decode", text_file(t / "noise.misc", "random words, not a codec's file"), "-o", t / "x.png"]


@case("decode-empty-file", "invalid bitstream")
def _(t, r):
    return ["decode", text_file(t / "empty.misc", ""), "-o", t / "x.png"]


@case("decode-truncated-misc-file", "invalid bitstream at byte")
def _(t, r):
    path = misc_file(t)
    path.write_bytes(path.read_bytes()[:-9])
    return ["decode", path, "-o", t / "x.png"]


@case("decode-output-extension-not-an-image", ".misc2 is not an image format Pillow writes; name the output .png")
def _(t, r):
    return ["decode", misc_file(t), "-o", t / "x.misc2"]


@case("decode-codec-id-from-a-preset-file", "no preset in the codec registry has")
def _(t, r):
    codec = preset(t, "kind: misc\nid: 201\nsemantic: {backend: none}\n")
    run_cli("encode", image(t / "a.png"), "-o", t / "x.misc", "--codec", codec, "--bpp", "2")
    return ["decode", t / "x.misc", "-o", t / "x.png"]


@case("decode-codec-of-another-kind", "invalid bitstream at byte 0: a misc file, but codec preset 'jpeg' writes jpeg")
def _(t, r):
    return ["decode", misc_file(t), "-o", t / "x.png", "--codec", "jpeg"]


@case("decode-output-under-a-file", "a file is in the way")
def _(t, r):
    return ["decode", misc_file(t), "-o", text_file(t / "f", "x") / "x.png"]


# --- build ----------------------------------------------------------------------------------------------------


@case("build-unknown-model", "unknown model 'tiny-sdx' (did you mean 'tiny-sdxl'?)")
def _(t, r):
    return ["build", "--models", "tiny-sdx", "--out", t / "o"]


@case("card-unknown-key", "unknown key 'stepz' (did you mean 'steps'?)")
def _(t, r):
    return ["build", "--models", card(t, {"steps:": "stepz:"}), "--out", t / "o"]


@case("card-wrong-type", "call.guidance: expected a number, got 'five'")
def _(t, r):
    return ["build", "--models", card(t, {"guidance: 5.0": "guidance: five"}), "--out", t / "o"]


@case("card-tiny-builder-unknown", "unknown tiny model 'tiny:nonexistent'")
def _(t, r):
    return [*BUILD, "--models", card(t, {"repo: tiny:sdxl": "repo: tiny:nonexistent"}), "--out", t / "o"]


@case("card-local-folder-missing", "repo: the local folder ./weights/sdxl-local does not exist")
def _(t, r):
    return [*BUILD, "--models", card(t, {"repo: tiny:sdxl": "repo: ./weights/sdxl-local"}), "--out", t / "o"]


@case("card-extra-not-a-pipeline-argument", "call.extra: 'sharpness' is not an argument of StableDiffusionXLPipeline")
def _(t, r):
    extra = {"height: 128": "height: 128\n  extra: {sharpness: 2}"}
    return [*BUILD, "--models", card(t, extra), "--out", t / "o"]


@case("build-shard-size-zero", "Invalid value for '--shard-size': 0 is not in the range x>=1", code=2)
def _(t, r):
    return [*BUILD, "--shard-size", "0", "--out", t / "o"]


@case("build-num-prompts-negative", "Invalid value for '--num-prompts': -3 is not in the range x>=1", code=2)
def _(t, r):
    return ["build", "--models", "tiny-sdxl", "--num-prompts", "-3", "--out", t / "o"]


@case("build-unknown-filter-preset", "unknown filter preset 'ofline' (did you mean 'offline'?)")
def _(t, r):
    return [*BUILD, "--filters", "ofline", "--out", t / "o"]


@case("filter-threshold-nan", "threshold: expected a finite number, got nan")
def _(t, r):
    text = (REPO / "filters" / "offline.yaml").read_text().replace("threshold: null", "threshold: .nan")
    return [*BUILD, "--filters", text_file(t / "nan.yaml", text), "--out", t / "o"]


@case("build-out-is-a-file", "is a file", code=2)
def _(t, r):
    return [*BUILD, "--out", text_file(t / "file", "x")]


@case("build-out-foreign-folder", "is not empty and holds no aigi-scd build")
def _(t, r):
    (t / "mine").mkdir()
    text_file(t / "mine" / "notes.txt", "mine")
    return [*BUILD, "--out", t / "mine"]


@case("build-out-unreadable-manifest", "build.json: the build manifest is unreadable")
def _(t, r):
    (t / "o").mkdir()
    text_file(t / "o" / "build.json", '{"config": ')
    return [*BUILD, "--out", t / "o"]


@case("build-prompt-file-missing", "prompt file not found")
def _(t, r):
    return [*BUILD, "--prompts", t / "prompts.txt", "--out", t / "o"]


@case("build-device-absent", "--device 'mps': no mps device here")
def _(t, r):
    return [*BUILD, "--device", "mps", "--out", t / "o"]


@case("build-cache-dir-under-a-file", "a file is in the way; choose another --cache-dir")
def _(t, r):
    return [*BUILD, "--cache-dir", text_file(t / "f", "x") / "cache", "--out", t / "o"]


# --- prompts ----------------------------------------------------------------------------------------------------


@case("prompts-unknown-suite", "unknown prompt suite 'aigi'")
def _(t, r):
    return ["prompts", "--suite", "aigi", "--no-similarity"]


@case("prompts-out-under-a-file", "a file is in the way")
def _(t, r):
    return ["prompts", "-n", "2", "--no-similarity", "--quiet", "--out", text_file(t / "f", "x") / "p.jsonl"]


@case("prompts-count-zero", "Invalid value for '-n' / '--num-prompts': 0 is not in the range x>=1", code=2)
def _(t, r):
    return ["prompts", "-n", "0"]


# --- filter -----------------------------------------------------------------------------------------------------


@case("filter-not-a-build", "holds no aigi-scd build")
def _(t, r):
    return ["filter", t, "--preset", "offline"]


@case("filter-truncated-shard", "the tar is damaged (unexpected end of data); run `aigi-scd verify")
def _(t, r):
    out = build_copy(t, r)
    truncate(out / "data" / "tiny-pixart" / "train-00000.tar")
    return ["filter", out, "--preset", "offline", "--quiet"]


@case("filter-unreadable-stats-file", "00000.stats.json: the shard's stats file is unreadable")
def _(t, r):
    out = build_copy(t, r)
    text_file(out / "data" / "tiny-sdxl" / "00000.stats.json", "{")
    return ["filter", out, "--preset", "offline", "--quiet"]


@case("filter-unknown-preset", "unknown filter preset 'strict'")
def _(t, r):
    return ["filter", build_copy(t, r), "--preset", "strict"]


@case("filter-batch-size-zero", "Invalid value for '--batch-size': 0 is not in the range x>=1", code=2)
def _(t, r):
    return ["filter", t, "--preset", "offline", "--batch-size", "0"]


# --- compress ---------------------------------------------------------------------------------------------------

COMPRESS = ["compress", "--codecs", "jpeg", "--metrics", "psnr", "--workers", "0", "--quiet"]


@case("compress-bpp-nan", "Invalid value for '--bpp': 'nan': expected positive, finite bits per pixel", code=2)
def _(t, r):
    return [*COMPRESS, "--images", t, "--out", t / "o", "--bpp", "nan"]


@case("compress-bpp-inf", "'--bpp': '0.1,inf': expected positive, finite bits per pixel", code=2)
def _(t, r):
    image(t / "a.png")
    return [*COMPRESS, "--images", t, "--out", t / "o", "--bpp", "0.1,inf"]


@case("compress-batch-size-zero", "Invalid value for '--batch-size': 0 is not in the range x>=1", code=2)
def _(t, r):
    return [*COMPRESS, "--images", t, "--out", t / "o", "--batch-size", "0"]


@case("compress-images-missing", "not a folder")
def _(t, r):
    return [*COMPRESS, "--images", t / "nope", "--out", t / "o"]


@case("compress-images-empty", "no images")
def _(t, r):
    (t / "empty").mkdir()
    return [*COMPRESS, "--images", t / "empty", "--out", t / "o"]


@case("compress-corrupted-shard", "the tar is damaged (unexpected end of data); run `aigi-scd verify")
def _(t, r):
    out = build_copy(t, r)
    truncate(out / "data" / "tiny-sdxl" / "train-00000.tar")
    return [*COMPRESS, out, "--bpp", "2"]


@case("compress-unknown-metric", "unknown metric 'psnrr' (did you mean 'psnr'?)")
def _(t, r):
    image(t / "a.png")
    return ["compress", "--images", t, "--out", t / "o", "--codecs", "jpeg", "--metrics", "psnrr"]


@case("compress-out-foreign-folder", "holds files that aigi-scd compress did not write")
def _(t, r):
    (t / "imgs").mkdir()
    image(t / "imgs" / "a.png")
    text_file(t / "notes.txt", "mine")
    return [*COMPRESS, "--images", t / "imgs", "--out", t]


@case("compress-not-a-build", "is not an aigi-scd build (no build.json)")
def _(t, r):
    return [*COMPRESS, t]


@case("compress-workers-negative", "Invalid value for '--workers': -1 is not in the range x>=0", code=2)
def _(t, r):
    return [*COMPRESS, t, "--workers", "-1"]


# --- verify -----------------------------------------------------------------------------------------------------


@case("verify-missing-folder", "no such folder")
def _(t, r):
    return ["verify", t / "nope"]


@case("verify-foreign-folder", "is neither an aigi-scd build")
def _(t, r):
    return ["verify", t]


@case("verify-unreadable-manifest", "build.json: the build manifest is unreadable")
def _(t, r):
    out = build_copy(t, r)
    text_file(out / "build.json", "not json")
    return ["verify", out, "--quick", "--quiet"]


# --- issue 21: the last quiet failures (import inputs, card, compress hints, numbers out of range) ---------

IMPORT = ["import", "--source", "mine", "--filters", "offline", "--quiet"]


def manifest(t: Path, name: str, text: str) -> Path:
    for stem in ("a", "b", "c"):
        image(t / f"{stem}.png")
    return text_file(t / name, text)


@case("import-csv-quote-left-open", "a quote opened there is not closed where its value ends")
def _(t, r):
    src = manifest(t, "rows.csv", 'path,prompt\na.png,"a red cat\nb.png,a blue dog\n')
    return [*IMPORT, src, "--out", t / "o"]


@case("import-csv-quote-swallows-rows", "look like rows of their own")
def _(t, r):  # the quote closes at the end of the file: valid CSV, but two rows are one prompt
    src = manifest(t, "rows.csv", 'path,prompt\na.png,"a red cat\nb.png,a blue dog\nc.png,a bird"\n')
    return [*IMPORT, src, "--out", t / "o"]


@case("import-csv-one-column-header", "the header 'path prompt' is a single column")
def _(t, r):
    return [*IMPORT, manifest(t, "rows.csv", "path prompt\na.png a red cat\n"), "--out", t / "o"]


@case("import-json-object-of-rows", "this one is an object with 1 key; its 'rows' holds a list")
def _(t, r):
    src = manifest(t, "rows.json", '{"rows": [{"path": "a.png", "prompt": "a red cat"}]}')
    return [*IMPORT, src, "--out", t / "o"]


@case("import-json-single-row", "it looks like a single row: put it in a list")
def _(t, r):
    return [*IMPORT, manifest(t, "rows.json", '{"path": "a.png", "prompt": "a red cat"}'), "--out", t / "o"]


@case("import-sidecars-disagree", "a.txt and a.json give different prompts ('a red cat' and 'a blue dog')")
def _(t, r):
    (t / "in").mkdir()
    image(t / "in" / "a.png")
    text_file(t / "in" / "a.txt", "a red cat")
    text_file(t / "in" / "a.json", '{"prompt": "a blue dog", "seed": 3}')
    return [*IMPORT, t / "in", "--out", t / "o"]


@case("import-limit-zero", "Invalid value for '--limit': 0 is not in the range x>=1", code=2)
def _(t, r):
    return [*IMPORT, t, "--out", t / "o", "--limit", "0"]


@case("import-shard-size-zero", "Invalid value for '--shard-size': 0 is not in the range x>=1", code=2)
def _(t, r):
    return [*IMPORT, t, "--out", t / "o", "--shard-size", "0"]


@case("import-batch-size-zero", "Invalid value for '--batch-size': 0 is not in the range x>=1", code=2)
def _(t, r):
    return [*IMPORT, t, "--out", t / "o", "--batch-size", "0"]


@case("prompts-near-dup-out-of-range", "Invalid value for '--near-dup': 1.5 is not in the range 0<x<=1", code=2)
def _(t, r):
    return ["prompts", "-n", "3", "--near-dup", "1.5"]


@case("compress-misc-without-weights", "Use the codec preset misc-offline instead (it needs no weights)")
def _(t, r):  # the hint names the preset, not encode's --codec option (compress's is --codecs)
    r.getfixturevalue("monkeypatch").setenv("HF_HUB_OFFLINE", "1")
    image(t / "a.png")
    return ["compress", "--codecs", "misc", "--metrics", "psnr", "--images", t, "--out", t / "o", "--quiet"]


@case("card-truncated-tar", "train-00000.tar: the tar is damaged (unexpected end of data); run `aigi-scd verify")
def _(t, r):
    out = build_copy(t, r)
    truncate(out / "data" / "tiny-sdxl" / "train-00000.tar")
    return ["card", out]


@pytest.mark.parametrize(("make", "expected", "code"), CASES)
def test_bad_input_gets_one_clear_line_and_a_nonzero_exit(make, expected, code, tmp_path, request):
    args = make(tmp_path, request)
    result = run_cli(*args, check=False)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if args[0] == "verify" and result.exit_code == 1 and not errors:  # verify reports problems, not errors
        errors = [line for line in result.output.splitlines() if line.startswith("PROBLEM")]
    assert len(errors) == 1, result.output
    assert expected in errors[0], errors[0]
    assert "a bug in aigi-scd" not in errors[0]


def test_the_catalogue_has_at_least_forty_cases_across_every_command():
    assert len(CASES) >= 40
    commands = {case.id.split("-")[0] for case in CASES}
    assert {"encode", "decode", "build", "card", "preset", "prompts", "filter", "compress", "verify"} <= commands


def test_verbose_shows_the_traceback_and_still_the_line(tmp_path):
    result = run_cli("-v", "encode", tmp_path / "nope.png", "-o", tmp_path / "x.misc", check=False)
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.output and "ImageInputError" in result.output
    assert result.output.strip().splitlines()[-1] == f"Error: image not found: {tmp_path / 'nope.png'}"


def test_a_bug_is_one_line_that_says_so_and_verbose_raises_it(tmp_path, monkeypatch):
    from aigi_scd.codec import registry

    monkeypatch.setattr(registry, "sniff", lambda data: {}["no such kind"])  # a planted bug
    path = tmp_path / "x.misc"
    path.write_bytes(b"data")
    result = run_cli("decode", path, "-o", tmp_path / "x.png", check=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "unexpected KeyError: 'no such kind' (a bug in aigi-scd, not in your input; rerun with" in result.output
    with pytest.raises(KeyError):
        run_cli("-v", "decode", path, "-o", tmp_path / "x.png", check=False)


@pytest.mark.parametrize("how", ["chained", "after"])
def test_a_ctrl_c_that_surfaces_as_another_error_ends_as_the_interrupt_not_as_a_bug(how, tmp_path, monkeypatch):
    """A library that turns Ctrl-C into its own error (raised from it, or after it, with no link to it), or a
    cleanup that fails on what the interrupt left: the command stopped because of the Ctrl-C, so it ends as an
    interrupt (130, the command that resumes), never as "unexpected ... a bug"."""
    from aigi_scd.codec import registry

    def sniff(data):
        cancelled = False
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt as exc:
            if how == "chained":
                raise RuntimeError("the call was cancelled") from exc
            cancelled = True
        if cancelled:
            raise RuntimeError("the call was cancelled")

    monkeypatch.setattr(registry, "sniff", sniff)
    path = tmp_path / "x.misc"
    path.write_bytes(b"data")
    # What a terminal's Ctrl-C meets, whatever earlier tests in this process left: one full-suite run had SIGINT
    # not reach Python's handler here (the command then ran on with sniff's None).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        result = run_cli("decode", path, "-o", tmp_path / "x.png", check=False)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own again after the command
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == 130, result.output
    assert "Interrupted. Work finished so far is kept" in result.output and "unexpected" not in result.output

    monkeypatch.setattr(registry, "sniff", lambda data: {}["no such kind"])  # the next command's bug is a bug again
    result = run_cli("decode", path, "-o", tmp_path / "x.png", check=False)
    assert result.exit_code == 1 and "unexpected KeyError" in result.output


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16", "CMYK", "1", "F"])
def test_valid_but_unusual_images_are_encoded_not_refused(mode, tmp_path):
    suffix = ".jpg" if mode == "CMYK" else (".tif" if mode == "F" else ".png")
    path = image(tmp_path / f"in{suffix}", mode=mode if mode not in ("I;16", "F") else "L")
    if mode == "I;16":
        Image.fromarray(np.asarray(Image.open(path)).astype(np.uint16) * 257).save(path)
    if mode == "F":
        Image.fromarray(np.asarray(Image.open(path)).astype(np.float32) / 255.0).save(path)
    assert Image.open(path).mode.startswith(mode[0])
    result = run_cli("encode", path, "-o", tmp_path / "x.misc", "--bpp", "2")
    assert "64x48" in result.output
    run_cli("decode", tmp_path / "x.misc", "-o", tmp_path / "x.png")
    assert Image.open(tmp_path / "x.png").size == (64, 48)


# --- issue 21: quiet failures that are not errors: each now says what happened -----------------------------


def test_card_after_a_models_data_folder_was_deleted_warns_and_says_so(tmp_path, request):
    out = build_copy(tmp_path, request)
    shutil.rmtree(out / "data" / "tiny-pixart")
    result = run_cli("card", out)
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        f"Warning: tiny-pixart: 6 of its 6 planned images are in no finished shard (data/tiny-pixart/ is missing); "
        f"run `aigi-scd verify {out} --repair`, which says what it repairs and what to regenerate"
    ]
    card = (out / "README.md").read_text()
    assert "**Incomplete:** tiny-pixart: 6 of its 6 planned images are in no finished shard" in card


def test_compress_images_reads_subfolders_as_import_does(tmp_path):
    """`compress --images` lists a folder as `import` does: every image below it, hidden ones left out."""
    from aigi_scd.bench.sources import folder_source
    from aigi_scd.build.import_inputs import folder_input

    folder = tmp_path / "set"
    for name in ("a.png", "sub/b.png", "sub/deeper/c.png", ".hidden/d.png"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        image(folder / name)
        text_file((folder / name).with_suffix(".txt"), f"a prompt for {name}")
    source = folder_source(folder)
    assert source.shards[0].keys == ["set-a", "set-sub_b", "set-sub_deeper_c"]
    assert [item.origin for item in source.shards[0].iter_items()] == ["a.png", "sub/b.png", "sub/deeper/c.png"]
    assert [row.name for row in folder_input(folder).rows()] == ["a.png", "sub/b.png", "sub/deeper/c.png"]
    (folder / "sub_b.png").write_bytes((folder / "sub" / "b.png").read_bytes())
    with pytest.raises(Exception, match="sub/b.png and sub_b.png differ only in extension, symbols or folder"):
        folder_source(folder)


def test_verify_after_an_import_into_a_full_disk_names_the_import_not_the_filter(tmp_path):
    from aigi_files import encoded, write
    from forked_cli import run

    folder = tmp_path / "in"
    for i in range(2):
        write(folder / f"{i}.png", encoded(i))
        text_file(folder / f"{i}.txt", f"picture {i}")
    out = tmp_path / "out"
    command = ["import", folder, "--source", "mine", "--out", out, "--filters", "offline", "--quiet"]
    code, output = run(command, tmp_path / "import.log", file_size=20_000)  # the shard's tar does not fit
    assert code == 1 and "File too large" in output
    result = run_cli("verify", out, "--quiet", check=False)
    assert result.exit_code == 1
    assert "no shard is finished (the run that made this folder stopped before its first one" in result.output
    assert f"regenerate with: aigi-scd import {folder} --source mine --out {out}" in result.output
    assert "aigi-scd filter" not in result.output and "filter preset rejected" not in result.output


def test_importing_already_imported_images_as_a_new_source_offers_no_config_that_does_not_exist(tmp_path):
    from aigi_files import encoded, write

    folder = tmp_path / "in"
    write(folder / "a.png", encoded(1))  # a picture the offline preset keeps
    text_file(folder / "a.txt", "a picture")
    out = tmp_path / "out"
    first = run_cli("import", folder, "--source", "first", "--out", out, "--filters", "offline", "--quiet")
    assert f"datasets.load_dataset({str(out)!r}, 'first', split='train')" in first.output
    again = run_cli("import", folder, "--source", "again", "--out", out, "--filters", "offline", "--quiet")
    assert "load_dataset" not in again.output
    assert f"No image of 'again' is kept (every image was already in the folder), so {out} has no dataset " in (
        again.output
    )


def test_a_semicolon_separated_csv_is_read_by_its_delimiter(tmp_path):
    from aigi_scd.build.import_inputs import open_input

    manifest(tmp_path, "rows.csv", "path;prompt;seed\na.png;a red cat, asleep;3\nb.png;a blue dog;4\n")
    rows = list(open_input(tmp_path / "rows.csv").rows())
    assert [r.fields for r in rows] == [
        {"path": "a.png", "prompt": "a red cat, asleep", "seed": "3"},
        {"path": "b.png", "prompt": "a blue dog", "seed": "4"},
    ]
    assert all(r.problem is None for r in rows)


def test_an_image_with_both_sidecars_gets_the_txt_prompt_and_the_json_fields(tmp_path):
    from aigi_scd.prompts.sidecar import read_sidecar, sidecar_prompt

    picture = image(tmp_path / "a.png")
    text_file(tmp_path / "a.txt", "a red cat\n")
    text_file(tmp_path / "a.json", '{"generator": "dall-e-3", "seed": 3}')
    assert read_sidecar(picture) == {"generator": "dall-e-3", "seed": 3, "prompt": "a red cat"}
    prompt = sidecar_prompt(picture)
    assert prompt.text == "a red cat" and prompt.extra == {"generator": "dall-e-3", "seed": 3}
    text_file(tmp_path / "a.json", '{"prompt": "a  red cat", "seed": 3}')  # the same prompt twice: fine
    assert read_sidecar(picture)["prompt"] == "a  red cat"
