"""Atomic WebDataset shards: nothing appears until commit, aborts leave nothing, bytes are reproducible."""

from __future__ import annotations

import pytest

from aigi_scd.dataset.files import write_json_atomic
from aigi_scd.dataset.shards import AtomicTarWriter, discard_shard, finished_shards, iter_samples


def write(path, samples):
    writer = AtomicTarWriter(path)
    for key, fields in samples:
        writer.write(key, fields)
    return writer


SAMPLES = [("a-1", {"json": b'{"x": 1}', "png": b"\x89PNG..."}), ("a-2", {"json": b'{"x": 2}'})]


def test_nothing_is_visible_before_commit(tmp_path):
    final = tmp_path / "train-00000.tar"
    writer = write(final, SAMPLES)
    assert not final.exists() and (tmp_path / "train-00000.tar.tmp").exists()
    assert writer.commit() == final
    assert final.exists() and not (tmp_path / "train-00000.tar.tmp").exists()
    back = list(iter_samples(final))
    assert [s["__key__"] for s in back] == ["a-1", "a-2"]
    assert back[0]["png"] == b"\x89PNG..." and back[1]["json"] == b'{"x": 2}'


def test_abort_leaves_nothing(tmp_path):
    final = tmp_path / "t.tar"
    write(final, SAMPLES).abort()
    assert list(tmp_path.iterdir()) == []


def test_empty_writer_writes_no_file(tmp_path):
    assert AtomicTarWriter(tmp_path / "t.tar").commit() is None
    assert list(tmp_path.iterdir()) == []


def test_equal_samples_give_identical_tar_bytes(tmp_path):
    write(tmp_path / "a.tar", SAMPLES).commit()
    write(tmp_path / "b.tar", SAMPLES).commit()
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_keys_with_dots_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dot"):
        AtomicTarWriter(tmp_path / "t.tar").write("model-v1.5-abc", {"json": b"{}"})


def test_stats_mark_done_and_an_unreadable_one_is_named_never_skipped_in_silence(tmp_path):
    from aigi_scd.dataset.integrity import resumable_shards
    from aigi_scd.errors import DamagedDataError

    data = tmp_path / "data" / "m"
    done = {"kept": 0, "rejected": 0, "keys": []}
    write_json_atomic(data / "00000.stats.json", done)
    data.joinpath("00001.stats.json").write_text("{ half a file")
    with pytest.raises(DamagedDataError, match=r"00001.stats.json: the shard's stats file is unreadable .*verify"):
        finished_shards(tmp_path, "m")  # card counts, compress and filter must not drop the shard in silence
    warnings = []
    assert resumable_shards(tmp_path, "m", warnings.append) == {0: done}  # a resuming build redoes it, saying so
    assert len(warnings) == 1 and "m shard 1" in warnings[0] and "making it again" in warnings[0]
    discard_shard(tmp_path, "m", 1)
    assert not (data / "00001.stats.json").exists()


@pytest.mark.parametrize("what", ["json", "tar"])
def test_ctrl_c_in_the_middle_of_a_write_leaves_the_old_file_and_no_temporary(what, tmp_path, monkeypatch):
    """Ctrl-C can land between writing the temporary file and renaming it (the CI caught one such
    ``stats.json.tmp``); the old content must stay and no ``.tmp`` may be left for a reader to trip on."""
    import os

    target = tmp_path / ("t.stats.json" if what == "json" else "t.tar")
    if what == "json":
        write_json_atomic(target, {"old": True})
    before = target.read_bytes() if target.exists() else None

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        if what == "json":
            write_json_atomic(target, {"new": True})
        else:
            writer = AtomicTarWriter(target)
            writer.write("k", {"json": b"{}"})
            writer.commit()
    assert not list(tmp_path.glob("*.tmp"))
    assert (target.read_bytes() if target.exists() else None) == before


def test_tars_hold_the_members_webdatasets_tarwriter_writes_byte_for_byte(tmp_path):
    """AtomicTarWriter writes with tarfile itself (webdataset's import brings torch); the bytes stay webdataset's."""
    import webdataset as wds

    from aigi_scd.dataset.shards import TAR_MTIME, TAR_OWNER

    samples = [*SAMPLES, ("b-3", {"webp": b"RIFF" + bytes(range(256)) * 3, "json": '{"é": 1}'.encode(), "txt": b""})]
    write(tmp_path / "ours.tar", samples).commit()
    with open(tmp_path / "theirs.tar", "wb") as f:
        writer = wds.TarWriter(f, user=TAR_OWNER, group=TAR_OWNER, mtime=TAR_MTIME, encoder=False)
        for key, fields in samples:
            writer.write({"__key__": key, **fields})
        writer.close()
    assert (tmp_path / "ours.tar").read_bytes() == (tmp_path / "theirs.tar").read_bytes()


@pytest.mark.parametrize(
    "name",
    ["a-1.png", "a-1.json", "dir/a-1.output.png", "a.b.c", "noext", ".hidden", "dir.x/file.tar.gz", "a-1.", "d/.x.y"],
)
def test_member_names_split_as_webdataset_splits_them(name):
    from webdataset.tariterators import base_plus_ext as theirs

    from aigi_scd.dataset.shards import base_plus_ext

    assert base_plus_ext(name) == theirs(name)
