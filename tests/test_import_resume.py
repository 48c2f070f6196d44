"""An import killed with SIGKILL and rerun holds each image exactly once; bad rows stop it with one line naming
the row, or are skipped and reported with --skip-bad-rows; the same image imported twice is one sample
(issue 14, acceptance 3)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aigi_files import encoded, source_samples, write
from conftest import run_cli

from aigi_scd.dataset.shards import image_field, iter_samples

IMAGES = 12


def prompts_folder(folder: Path, seeds: range, start: int = 0) -> dict[str, bytes]:
    """PNG files with a .txt prompt each; returns name → bytes."""
    files = {}
    for i, seed in enumerate(seeds, start=start):
        files[f"img{i:03d}.png"] = write(folder / f"img{i:03d}.png", encoded(seed)).read_bytes()
        (folder / f"img{i:03d}.txt").write_text(f"picture number {seed} of a quiet street")
    return files


def every_original(out: Path, source: str) -> list[str]:
    """The original sha256 of every sample of a source, kept and rejected (a repeat would be a duplicate)."""
    hashes = []
    for tar in sorted((out / "data" / source).glob("*.tar")) + sorted((out / "rejects" / source).glob("*.tar")):
        hashes += [json.loads(s["json"])["imported"]["original_sha256"] for s in iter_samples(tar)]
    return hashes


def import_args(src: Path, out: Path) -> list[str]:
    return ["import", str(src), "--source", "street", "--out", str(out), "--filters", "offline", "--shard-size", "2"]


def start(src: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aigi_scd", *import_args(src, out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def test_sigkill_mid_import_then_rerun_has_each_image_exactly_once(tmp_path):
    src = tmp_path / "src"
    files = prompts_folder(src, range(IMAGES))
    write(src / "zzz-copy.png", files["img004.png"])  # the same image under another name: one sample
    (src / "zzz-copy.txt").write_text("a copy")

    reference = tmp_path / "reference"
    run_cli(*import_args(src, reference), "--quiet")

    killed = tmp_path / "killed"
    proc = start(src, killed)
    deadline = time.monotonic() + 600
    while not (killed / "data" / "street" / "00000.stats.json").exists():  # one shard done, the next under way
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = source_samples(killed, "street")
    assert 0 < len(partial) < IMAGES  # the kill really left work undone
    finished = [json.loads(p.read_text())["rows"] for p in (killed / "data" / "street").glob("*.stats.json")]
    done_rows = sum(stop - begin for begin, stop in finished)

    rerun = run_cli(*import_args(src, killed), "--quiet")
    assert f"{IMAGES + 1} rows, {done_rows} done by an earlier run" in rerun.output  # finished shards are not redone
    done, expected = source_samples(killed, "street"), source_samples(reference, "street")
    assert {k: v["image"] for k, v in done.items()} == {k: v["image"] for k, v in expected.items()}
    hashes = every_original(killed, "street")
    assert len(hashes) == len(set(hashes)) == IMAGES
    assert sorted(hashes) == sorted(hashlib.sha256(data).hexdigest() for data in files.values())
    assert not list(killed.rglob("*.tmp"))
    stats = [json.loads(p.read_text()) for p in sorted((killed / "data" / "street").glob("*.stats.json"))]
    covered = sorted(r for s in stats for r in range(*s["rows"]))
    assert covered == list(range(IMAGES + 1))  # every row once, the copy included (as a duplicate)
    assert [d["key"] for s in stats for d in s["duplicates"]] == [
        next(k for k, v in done.items() if v["json"]["imported"]["original_name"] == "img004.png")
    ]


def test_bad_rows_stop_the_import_with_one_line_or_are_skipped_and_reported(tmp_path):
    folder = tmp_path / "manifest"
    write(folder / "good1.png", encoded(1))
    write(folder / "broken.png", b"\x89PNG\r\n\x1a\n this is not a picture")
    write(folder / "empty.png", encoded(3))
    write(folder / "good2.jpg", encoded(4, "JPEG"))
    manifest = folder / "rows.csv"
    manifest.write_text(
        "file_name,prompt,seed\n"
        "good1.png,a boat on a lake,1\n"
        "missing.png,a cat on a wall,2\n"
        "broken.png,a tree in fog,3\n"
        "empty.png,,4\n"
        "good2.jpg,a kite over a beach,5\n"
        "good1.png,a boat on a lake,1\n"
    )
    out = tmp_path / "out"
    stopped = run_cli(
        "import", manifest, "--source", "mine", "--out", out, "--filters", "offline", "--quiet", check=False
    )
    assert stopped.exit_code == 1
    error = [line for line in stopped.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1 and "Traceback" not in stopped.output
    assert "rows.csv row 2: image file not found" in error[0] and "--skip-bad-rows" in error[0]
    assert not list(out.rglob("*.tar")) and not list(out.rglob("*.tmp"))  # the shard holding row 2 was dropped

    result = run_cli(
        "import", manifest, "--source", "mine", "--out", out, "--filters", "offline", "--quiet", "--skip-bad-rows"
    )
    assert "skipped rows.csv row 2: image file not found" in result.output
    assert "skipped rows.csv row 3: the image does not decode" in result.output
    assert "skipped rows.csv row 4: the prompt is empty" in result.output
    assert "3 bad rows skipped" in result.output and "1 already imported" in result.output
    samples = source_samples(out, "mine")
    assert sorted(s["json"]["prompt"]["text"] for s in samples.values()) == ["a boat on a lake", "a kite over a beach"]
    stats = json.loads((out / "data" / "mine" / "00000.stats.json").read_text())
    assert [(b["where"], b["row"]) for b in stats["bad_rows"]] == [
        ("rows.csv row 2", 1),
        ("rows.csv row 3", 2),
        ("rows.csv row 4", 3),
    ]
    assert [d["where"] for d in stats["duplicates"]] == ["rows.csv row 6"]
    assert "| mine | " in (out / "README.md").read_text()


def test_the_same_image_imported_twice_is_one_sample(tmp_path):
    first = tmp_path / "first"
    files = prompts_folder(first, range(3))
    out = tmp_path / "out"
    options = ("--out", out, "--filters", "offline", "--quiet")
    run_cli("import", first, "--source", "s", *options)
    assert len(source_samples(out, "s")) == 3

    again = run_cli("import", first, "--source", "s", *options)  # the same input: every row already done
    assert "3 rows, 3 done by an earlier run" in again.output and "0 kept" in again.output

    second = tmp_path / "second"  # two of the same images under new names, one new image with a known prompt
    write(second / "a.png", files["img000.png"])
    (second / "a.txt").write_text("renamed")
    write(second / "b.png", files["img002.png"])
    (second / "b.txt").write_text("renamed too")
    write(second / "c.png", encoded(99))
    (second / "c.txt").write_text("picture number 0 of a quiet street")
    result = run_cli("import", second, "--source", "s", *options)
    assert "1 kept" in result.output and "2 already imported" in result.output
    samples = source_samples(out, "s")
    assert len(samples) == 4
    same_prompt = sorted(k for k, v in samples.items() if v["json"]["prompt"]["text"].startswith("picture number 0 "))
    assert [k.rsplit("-", 1)[1] for k in same_prompt] == ["0", "1"]  # n counts the source's images of a prompt

    other = run_cli("import", second, "--source", "other", *options)  # already in the folder, under source s
    assert "0 kept" in other.output and "3 already imported" in other.output


def test_a_source_keeps_its_filter_preset_and_overwrite_starts_it_again(tmp_path):
    folder = tmp_path / "src"
    prompts_folder(folder, range(2))
    preset = tmp_path / "lenient.yaml"
    preset.write_text("description: decodable only\nfilters:\n  - type: decodable\n")
    out = tmp_path / "out"
    run_cli("import", folder, "--source", "s", "--out", out, "--filters", "offline", "--quiet")
    refused = run_cli("import", folder, "--source", "s", "--out", out, "--filters", preset, "--quiet", check=False)
    assert refused.exit_code == 1 and "was filtered with preset 'offline'" in refused.output
    run_cli("import", folder, "--source", "s", "--out", out, "--filters", preset, "--quiet", "--overwrite")
    samples = source_samples(out, "s")
    assert len(samples) == 2
    assert {f["name"] for s in samples.values() for f in s["json"]["filters"]} == {"decodable"}
    manifest = json.loads((out / "build.json").read_text())
    assert [r["source"] for r in manifest["imports"]] == ["s"] and manifest["imports"][0]["preset"]["name"] == "lenient"


def test_mistakes_are_one_line(tmp_path):
    folder = tmp_path / "src"
    prompts_folder(folder, range(1))
    write(folder / "orphan.png", encoded(7))  # no sidecar: a bad row
    cases = [
        (("--source", "mid.journey"), "--source 'mid.journey'"),
        (("--source", "s", "--map", "prompt"), "write FIELD=COLUMN"),
        (("--source", "s", "--map", "colour=x"), "'colour' is not a field"),
        (("--source", "s", "--shard-size", "0"), "'--shard-size': 0 is not in the range x>=1"),
    ]
    for options, message in cases:
        result = run_cli("import", folder, "--out", tmp_path / "out", "--filters", "offline", *options, check=False)
        assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    result = run_cli("import", tmp_path / "nothing", "--source", "s", "--out", tmp_path / "out", check=False)
    assert result.exit_code == 1 and "no such file or folder" in result.output
    result = run_cli("import", folder, "--source", "s", "--out", tmp_path / "o2", "--filters", "offline", check=False)
    assert result.exit_code == 1 and "orphan.png: no prompt: put it in orphan.txt or orphan.json" in result.output
    stored = [image_field(s) for t in (tmp_path / "o2" / "data").rglob("*.tar") for s in iter_samples(t)]
    assert stored == []  # the shard holding the bad row was not written
