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
from test_build import pngs

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
    assert not stats.exists()
    assert any("removed unit compressed/jpeg-2/tiny-sdxl-00000" in line for line in report.repaired)
    # what remains is the unit to make again, listed with the command that makes it
    assert [f.problem for f in report.findings] == [
        "compressed/jpeg-2/tiny-sdxl-00000: removed by the repair, not made again yet"
    ]
    assert report.regenerate() == [f"aigi-scd compress {folder} --codecs jpeg --bpp 2 --metrics psnr --shard-size 64"]


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


# Issue 21 acceptance 2: what verify missed before, each planted, found, named and repaired or listed with the
# command (naming the folder verified) that makes it again.


def test_every_results_column_is_compared_with_the_units(folder):
    import pandas as pd

    path = folder / "benchmark" / "results.parquet"
    table = pd.read_parquet(path)
    table["psnr"] = 99.0  # every psnr replaced: keys, statuses, bytes and bpp untouched
    path.write_bytes(table.to_parquet(index=False))
    found = problems(folder)
    assert len(found) == 1 and f"{path}: column psnr differs from the units in 12 of 12 rows" in found[0], found
    report = verify(folder, repair=True, load=False)
    assert report.ok and "rewrote the benchmark tables (12 rows)" in report.repaired
    assert (pd.read_parquet(path)["psnr"] < 99).all()


def test_the_summaries_are_rebuilt_and_compared(folder):
    summary = folder / "benchmark" / "summary.md"
    good = summary.read_text()
    lines = good.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("| jpeg |"))
    lines[row] = lines[row].replace("| jpeg | 2 |", "| jpeg | 2 | 0.0001 | ", 1)
    summary.write_text("\n".join(lines) + "\n")
    csv = folder / "benchmark" / "summary.csv"
    csv.write_text(csv.read_text().replace(",jpeg,", ",jpeg-edited,", 1))
    found = problems(folder)
    assert len(found) == 1, found
    assert f"{summary}: not the table the results give (line {row + 1} differs)" in found[0]
    assert f"{csv}: not the table the results give (line 2 differs)" in found[0]
    assert verify(folder, repair=True, load=False).ok and summary.read_text() == good


def test_a_copied_shard_file_is_found_by_its_duplicated_keys_and_set_aside(folder, tmp_path):
    import datasets

    data = folder / "data" / "tiny-sdxl"
    shutil.copy(data / "train-00000.tar", data / "train-00001.tar")  # cp train-00000.tar train-00001.tar
    first = datasets.load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache-1"))
    assert first.num_rows == 18  # what a reader would get
    found = problems(folder)
    assert len(found) == 1, found
    assert (
        "tiny-sdxl: train-00001.tar belongs to no shard of the build (no stats file, not in the plan), yet its config "
        "loads it: 6 of its 6 samples are also in tiny-sdxl shard 0 (duplicated keys)" in found[0]
    )
    assert problems(folder, deep=False) == found  # headers are enough to see it
    report = verify(folder, repair=True, load=True)
    assert report.ok, report.lines()
    assert (data / "train-00001.tar.damaged").is_file() and not (data / "train-00001.tar").exists()
    assert datasets.load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache-2")).num_rows == 12


def test_every_printed_command_names_the_folder_verified(folder, compressed):
    """The folder is a copy: build.json and compress.json record the commands that wrote the first one."""
    import shlex

    assert str(folder) not in json.loads((folder / "build.json").read_text())["command"]
    stats = folder / "compressed" / "jpeg-2" / "tiny-pixart-00000.stats.json"
    data = json.loads(stats.read_text())
    data["rows"][0]["original_sha256"] = "0" * 64  # as if its original had changed since it was compressed
    stats.write_text(json.dumps(data))
    report = verify(folder, load=False)
    (command,) = report.regenerate()
    assert shlex.split(command)[:3] == ["aigi-scd", "compress", str(folder)]
    assert f"aigi-scd verify {folder} --repair" in report.lines()[-1]
    assert verify(folder, repair=True, load=False).regenerate() == [command]
    run_cli(*shlex.split(command)[1:])
    assert verify(folder, load=False).ok

    tar = folder / "data" / "tiny-sdxl" / "train-00000.tar"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    repaired = verify(folder, repair=True, load=False)
    (command,) = repaired.regenerate()
    build = shlex.split(command)
    assert build[:2] == ["aigi-scd", "build"] and build[build.index("--out") + 1] == str(folder)
    (waiting,) = [n for n in repaired.notes if "wait for their source shards" in n]
    then = waiting.split("into the tables with: ")[1]
    assert shlex.split(then)[:3] == ["aigi-scd", "compress", str(folder)]
    run_cli(*build[1:], "--quiet")
    run_cli(*shlex.split(then)[1:])
    assert verify(folder, load=False).ok, verify(folder, load=False).lines()
    assert pngs(folder) == pngs(compressed)  # made again with its bytes, in the folder verified


def test_quick_mode_counts_the_samples_a_truncated_tar_still_holds(folder):
    tar = folder / "data" / "tiny-pixart" / "train-00000.tar"
    with tarfile.open(tar) as opened:
        members = opened.getmembers()
    third = members[5]  # the third sample's second member (png, json per sample)
    tar.write_bytes(tar.read_bytes()[: third.offset_data + third.size // 2])  # cut inside the third sample
    quick, deep = problems(folder, deep=False), problems(folder)
    for found in (quick, deep):  # two whole samples before the cut, in both modes
        assert len(found) == 1 and found[0].startswith("tiny-pixart shard 0: ") and "unexpected end of data" in found[0]
        assert "; 4 of its 6 planned samples are in neither tar" in found[0], found
