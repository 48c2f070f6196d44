"""`aigi-scd encode / decode / codecs`: the commands users run on single images."""

from __future__ import annotations

from conftest import kodak_dir, run_cli, run_subprocess
from PIL import Image


def test_encode_then_decode_restores_the_size(tmp_path):
    src = sorted(kodak_dir().glob("*.png"))[6]
    out = tmp_path / "k.misc"
    result = run_cli("encode", src, "-o", out, "--bpp", "0.03", "--codec", "misc-offline")
    assert "misc-offline, 768x512" in result.output and "bpp (target 0.03)" in result.output
    assert 0.9 * 0.03 <= 8 * out.stat().st_size / (768 * 512) <= 0.03
    png = tmp_path / "k.png"
    assert "from misc-offline" in run_cli("decode", out, "-o", png).output
    assert Image.open(png).size == (768, 512)


def test_levels_name_targets(tmp_path):
    src = sorted(kodak_dir().glob("*.png"))[2]
    run_cli("encode", src, "-o", tmp_path / "a.avif", "--codec", "thumb-avif", "--level", "high")
    assert 0.9 * 0.05 <= 8 * (tmp_path / "a.avif").stat().st_size / (768 * 512) <= 0.05
    bad = run_cli("encode", src, "-o", tmp_path / "b", "--codec", "thumb-avif", "--level", "ultra", check=False)
    assert bad.exit_code != 0 and "no level 'ultra'" in bad.output and "low, mid, high" in bad.output


def test_damaged_file_gives_one_line_with_the_byte(tmp_path):
    src = sorted(kodak_dir().glob("*.png"))[0]
    good = tmp_path / "k.misc"
    run_cli("encode", src, "-o", good, "--bpp", "0.02")
    damaged = tmp_path / "damaged.misc"
    damaged.write_bytes(good.read_bytes()[:500])
    result = run_subprocess("decode", damaged, "-o", tmp_path / "x.png")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: invalid bitstream at byte 498: checksum mismatch: the file is corrupted, truncated or extended"
    ]
    assert not (tmp_path / "x.png").exists()


def test_unreachable_target_is_reported_not_exceeded(tmp_path):
    src = sorted(kodak_dir().glob("*.png"))[0]
    result = run_cli("encode", src, "-o", tmp_path / "k.jpg", "--bpp", "0.03", "--codec", "jpeg", check=False)
    assert result.exit_code != 0 and "jpeg cannot reach 0.03 bpp" in result.output
    assert not (tmp_path / "k.jpg").exists()


def test_unknown_codec_and_missing_image(tmp_path):
    result = run_cli("encode", tmp_path / "nope.png", "-o", tmp_path / "x", "--codec", "misc-ofline", check=False)
    assert result.exit_code != 0 and "unknown codec 'misc-ofline'" in result.output and "misc-offline" in result.output
    result = run_cli("encode", tmp_path / "nope.png", "-o", tmp_path / "x", check=False)
    assert result.exit_code != 0 and "image not found" in result.output


def test_codecs_lists_the_presets():
    output = run_cli("list", "codecs").output
    for name in ("misc", "misc-offline", "misc-tiny", "thumb-avif", "avif", "webp", "jpeg"):
        assert f"\n{name} " in "\n" + output
