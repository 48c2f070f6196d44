"""`aigi-scd verify` (issue 12 acceptance 3): a clean build passes; each planted fault is found, named, and
repaired or listed with the command that regenerates it."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from conftest import TINY_MODELS, run_cli

from aigi_scd.verify import verify

COMPRESS = ["compress", "--codecs", "jpeg", "--bpp", "2", "--metrics", "psnr", "--workers", "0", "--quiet"]


@pytest.fixture(scope="module")
def compressed(tiny_build, tmp_path_factory) -> Path:
    """The session's tiny build (2 models × 6 images) with one compressed set (jpeg at 2 bpp) and its tables."""
    out = tmp_path_factory.mktemp("verify") / "build"
    shutil.copytree(tiny_build, out)
    run_cli(*COMPRESS, out)
    return out


@pytest.fixture
def folder(compressed, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(compressed, out)
    return out


def rewrite_tar(path: Path, change) -> None:
    """Rewrite a tar with `change(members)`: members as [(name, bytes)] in order."""
    with tarfile.open(path) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w") as tar:
        for name, data in change(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def problems(out: Path, **kwargs) -> list[str]:
    return [f.problem for f in verify(out, load=False, **kwargs).findings]


def test_a_whole_build_with_compressed_sets_verifies_clean_and_every_config_loads(compressed):
    result = run_cli("verify", compressed, "--quiet")
    last = result.output.strip().splitlines()[-1]
    assert last == f"OK: build folder {compressed}, 12 samples read: no problems found."
    report = verify(compressed, load=True)
    assert report.ok and report.samples == 12


def test_a_truncated_tar_is_found_and_set_aside_for_the_build_to_make_again(folder):
    tar = folder / "data" / "tiny-sdxl" / "train-00000.tar"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    found = problems(folder)
    assert len(found) == 1 and "tiny-sdxl shard 0" in found[0] and "unexpected end of data" in found[0]
    result = run_cli("verify", folder, "--quiet", check=False)
    assert result.exit_code == 1 and "PROBLEM tiny-sdxl shard 0" in result.output
    assert "regenerate with: aigi-scd build --models tiny-sdxl,tiny-pixart" in result.output

    repaired = verify(folder, repair=True, load=False)
    assert any("set tiny-sdxl shard 0 aside" in line for line in repaired.repaired)
    assert (folder / "data" / "tiny-sdxl" / "train-00000.tar.damaged").is_file()
    assert not (folder / "data" / "tiny-sdxl" / "00000.stats.json").exists()
    assert [f.problem for f in repaired.findings] == ["tiny-sdxl: 1 of 1 shards are not made yet (first: 0)"]
    assert repaired.regenerate()[0].startswith("aigi-scd build --models " + TINY_MODELS)

    assert any("units of tiny-sdxl-00000 wait for their source shards" in note for note in repaired.notes)

    # the commands it names make the shard again and bring its compressed unit back: the folder is whole
    run_cli("build", "--models", TINY_MODELS, "--num-prompts", 6, "--seed", 0, "--out", folder, "--quiet")
    compressed = run_cli(*COMPRESS, folder)
    assert "0 encoded, 2 already done" in compressed.output  # the waiting units match their shard again
    report = verify(folder, load=False)
    assert report.ok, report.lines()


def test_a_flipped_byte_in_an_image_is_found_by_its_sha256(folder):
    def flip(members):
        name, data = next((n, d) for n, d in members if n.endswith(".png"))
        flipped = data[:100] + bytes([data[100] ^ 0x01]) + data[101:]
        return [(n, flipped if n == name else d) for n, d in members]

    rewrite_tar(folder / "data" / "tiny-pixart" / "train-00000.tar", flip)
    found = problems(folder)
    assert len(found) == 1 and "the png's sha256 differs from the one its json records" in found[0]


def test_a_duplicated_key_is_found(folder):
    with tarfile.open(folder / "data" / "tiny-sdxl" / "train-00000.tar") as tar:
        first = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()[:2]]
    rewrite_tar(folder / "data" / "tiny-pixart" / "train-00000.tar", lambda members: members + first)
    found = problems(folder)
    assert any("a duplicated key" in p and "is also in tiny-sdxl shard 0" in p for p in found), found


def test_a_stale_stats_file_is_found_and_rebuilt_from_its_tars(folder):
    path = folder / "data" / "tiny-sdxl" / "00000.stats.json"
    original = json.loads(path.read_text())
    stale = {**original, "keys": original["keys"][:-1], "kept": original["kept"] - 1}
    path.write_text(json.dumps(stale))
    found = problems(folder)
    assert len(found) == 1 and "holds 6 samples but its stats file says 5" in found[0]

    report = verify(folder, repair=True, load=False)
    assert report.ok, report.lines()
    rebuilt = json.loads(path.read_text())
    assert rebuilt["rebuilt"] is True
    for key in ("keys", "kept", "rejected", "planned", "filters", "preset", "filter_counts", "device", "dtype"):
        assert rebuilt[key] == original[key], key


def test_a_missing_shard_is_found_and_listed_for_regeneration(folder):
    (folder / "data" / "tiny-pixart" / "train-00000.tar").unlink()
    found = problems(folder)
    assert any("tiny-pixart shard 0: 6 of its 6 planned samples are in neither tar" in p for p in found), found
    assert any("config 'tiny-pixart' names data/tiny-pixart/train-*.tar, which matches no file" in p for p in found)
    report = verify(folder, repair=True, load=False)
    assert [f.problem for f in report.findings] == ["tiny-pixart: 1 of 1 shards are not made yet (first: 0)"]
    assert any("units of tiny-pixart-00000 wait for their source shards" in note for note in report.notes)


def test_a_compressed_unit_whose_keys_no_longer_match_its_source_is_found_and_removed(folder):
    stats = folder / "compressed" / "jpeg-2" / "tiny-sdxl-00000.stats.json"
    data = json.loads(stats.read_text())
    data["keys"][0] = data["rows"][0]["key"] = "tiny-sdxl-0000000000000000-1"
    stats.write_text(json.dumps(data))
    found = problems(folder)
    assert any(
        "compressed/jpeg-2/tiny-sdxl-00000: its 6 images are not the 6 of source shard tiny-sdxl-00000" in p
        for p in found
    ), found
    assert any("results.parquet: its rows are not those of the finished units" in p for p in found)
    report = verify(folder, repair=True, load=False)
    assert report.ok and not stats.exists()
    assert any("removed unit compressed/jpeg-2/tiny-sdxl-00000" in line for line in report.repaired)


def test_a_bitstream_whose_size_disagrees_with_its_recorded_bpp_is_found(folder):
    def cut(members):
        name = next(n for n, _ in members if n.endswith(".bitstream"))
        return [(n, d[:-7] if n == name else d) for n, d in members]

    rewrite_tar(folder / "compressed" / "jpeg-2" / "tiny-pixart-00000.tar", cut)
    found = problems(folder)
    assert any("is not 8 × " in p and "bytes / pixels" in p for p in found), found
    assert any("the bitstream has" in p for p in found)


def test_a_card_config_naming_no_files_is_found_and_the_card_rewritten(folder):
    card = folder / "README.md"
    card.write_text(card.read_text().replace("path: data/tiny-pixart/train-*.tar", "path: data/tiny-pixart/part-*.tar"))
    found = problems(folder)
    assert any("config 'tiny-pixart' names data/tiny-pixart/part-*.tar, which matches no file" in p for p in found)
    report = verify(folder, repair=True, load=True)
    assert report.ok and "rewrote README.md" in report.repaired


def test_leftover_temporary_files_and_a_foreign_folder_are_not_clean(folder, tmp_path):
    (folder / "data" / "tiny-sdxl" / "train-00001.tar.tmp").write_bytes(b"half")
    assert any("a temporary file left by an interrupted run" in p for p in problems(folder))
    assert verify(folder, repair=True, load=False).ok
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("verify", empty, check=False)
    assert result.exit_code == 1 and "is neither an aigi-scd build" in result.output


def test_quick_mode_reads_headers_only_and_still_finds_a_truncated_tar(folder):
    tar = folder / "data" / "tiny-pixart" / "train-00000.tar"
    with tarfile.open(tar) as opened:
        names = opened.getnames()
        end = opened.offset  # where the last member ends
    tar.write_bytes(tar.read_bytes()[:end])  # cut at a member boundary: tarfile alone reads it as whole
    with tarfile.open(tar) as opened:
        assert opened.getnames() == names
    report = verify(folder, deep=False, load=False)
    assert report.samples == 0 and len(report.findings) == 1 and "the tar is truncated" in report.findings[0].problem
