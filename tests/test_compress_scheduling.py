"""How compress shares an image's work out over its processes (bench/compressor.py): one task per image for every
codec and target, the main process encoding the first image while the pool it started comes up, and the last
images split by work group (codecs that share work stay together), heaviest first. However the work is shared
out, the rows must be those of the same run made in one process."""

from __future__ import annotations

import json

import pytest
from conftest import kodak_dir, run_cli

from aigi_scd.bench import compressor, encode_worker
from aigi_scd.bench.work_groups import work_groups
from aigi_scd.codec import get_codec

CODECS = "misc-offline,thumb-avif,webp,jpeg"


def test_codecs_that_share_thumbnail_encodes_are_one_work_group():
    specs = ["misc-offline", "thumb-avif", "avif", "webp", "jpeg"]
    groups = work_groups({spec: get_codec(spec) for spec in specs})
    assert groups["misc-offline"] == groups["thumb-avif"]  # MISC's pixel layer and thumb-avif: the same AV1 thumbnails
    assert len({groups[s] for s in ("misc-offline", "avif", "webp", "jpeg")}) == 4


def _rows(out):
    rows = {}
    for path in (out / "compressed").glob("*/*.stats.json"):
        for row in json.loads(path.read_text())["rows"]:
            rows[(path.parent.name, row["key"])] = row
    return rows


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("six")
    from PIL import Image

    for path in sorted(kodak_dir().glob("*.png"))[:6]:
        Image.open(path).convert("RGB").crop((200, 150, 296, 214)).save(folder / path.name)
    return folder


def test_the_start_encoded_here_and_the_last_images_split_by_group_give_the_rows_of_one_process(
    images, tmp_path, monkeypatch
):
    args = ["compress", "--images", images, "--codecs", CODECS, "--bpp", "0.5,1", "--metrics", "psnr,ssim"]
    args += ["--device", "cpu", "--quiet"]
    run_cli(*args, "--workers", "0", "--out", tmp_path / "here")  # every image in this process, one call each

    submitted = []  # (function, image key, its jobs or, for scoring, the results it was given)
    real_pool = compressor.process_pool

    def recording_pool(*a, **k):
        pool = real_pool(*a, **k)
        real_submit = pool.submit

        def submit(fn, *fn_args):
            if fn is encode_worker.score_results:
                results = [(r["status"], "scores" in r) for r in fn_args[2]]
                submitted.append((fn.__name__, fn_args[2][0]["key"], results))
            else:
                submitted.append((fn.__name__, fn_args[1], fn_args[0]))
            return real_submit(fn, *fn_args)

        pool.submit = submit
        return pool

    monkeypatch.setattr(compressor, "process_pool", recording_pool)
    run_cli(*args, "--workers", "2", "--out", tmp_path / "pool")

    here, pool = _rows(tmp_path / "here"), _rows(tmp_path / "pool")
    keys = sorted({key for _, key in here})
    assert len(keys) == 6
    every_job = len(CODECS.split(",")) * 2
    # the first image is encoded here (by a thread, while the pool's first submit waits for the fork server) and
    # only scored by a worker; images 1-3 go to the pool whole
    whole = [key for name, key, jobs in submitted if name == "encode_image" and len(jobs) == every_job]
    assert whole == keys[1:4], submitted
    scored = [(key, results) for name, key, results in submitted if name == "score_results"]
    assert [key for key, _ in scored] == [keys[0]], submitted
    assert len(scored[0][1]) == every_job and not any(has_scores for _, has_scores in scored[0][1])
    # the last two images (one per worker): one task per work group, misc-offline with thumb-avif
    split = [jobs for name, _, jobs in submitted if name == "encode_image" and len(jobs) < every_job]
    assert len(split) == 2 * 3, submitted
    groups = [{spec for spec, _ in jobs} for jobs in split]
    assert sorted(groups, key=sorted) == sorted([{"misc-offline", "thumb-avif"}, {"webp"}, {"jpeg"}] * 2, key=sorted)
    assert groups[:2] == [{"misc-offline", "thumb-avif"}] * 2  # the heaviest group (as measured so far) first
    assert here.keys() == pool.keys() and len(here) == 6 * every_job
    for key, row in here.items():  # this process scores with its threads, a worker with one: float32 sums may differ
        other = pool[key]
        assert (row["status"], row.get("bitstream_sha256")) == (other["status"], other.get("bitstream_sha256")), key
        for metric, value in (row.get("scores") or {}).items():
            assert other["scores"][metric] == pytest.approx(value, rel=1e-5, abs=1e-5), (key, metric)
    assert sum(r["status"] == "ok" for r in here.values()) >= 12
