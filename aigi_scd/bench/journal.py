"""The finished images of a unit that is not finished yet, kept as each one is done.

A unit (one codec, target and source shard) is written as one tar and one stats file when its last image is in
(``bench/units.py``); until then each finished image is one part file here, written atomically the moment its
row is known, so an interrupt or a kill loses only the images in flight and a rerun resumes from the parts::

    compressed/<codec>-<target>/<shard>.partial/journal.json   what the parts were made with (codec, keys, metrics)
    compressed/<codec>-<target>/<shard>.partial/NNNNN.part     image NNNNN of the shard: row, bitstream, png, info

A part is a small uncompressed tar (``row.json``; for an ok row also ``bitstream``, ``png``, ``info.json``). The
folder is beside the unit it becomes but holds no ``.tar`` and no ``.stats.json``, so the tables, ``verify``, the
card and ``load_dataset`` see only finished units. Parts made with another codec preset, other keys or other
metrics are discarded when the journal is opened.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aigi_scd.dataset.files import read_json, write_bytes_atomic, write_json_atomic

JOURNAL_VERSION = 1
PARTIAL_SUFFIX = ".partial"
HEADER = "journal.json"

Sample = tuple[bytes, bytes, str]  # bitstream, png (reconstruction), info (JSON string)


def keys_digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def partial_dir(unit_folder: Path, shard_name: str) -> Path:
    return Path(unit_folder) / f"{shard_name}{PARTIAL_SUFFIX}"


def _part_bytes(row: dict[str, Any], sample: Sample | None) -> bytes:
    members = {"row.json": json.dumps(row, sort_keys=True).encode()}
    if sample is not None:
        bitstream, png, info = sample
        members.update({"bitstream": bitstream, "png": png, "info.json": info.encode()})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _read_part(path: Path) -> tuple[dict[str, Any], Sample | None]:
    with tarfile.open(path, mode="r") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    row = json.loads(members["row.json"])
    if "bitstream" not in members:
        return row, None
    return row, (members["bitstream"], members["png"], members["info.json"].decode())


class UnitJournal:
    """The parts of one unfinished unit: which images are done, adding one, reading them back in plan order."""

    def __init__(self, folder: Path, keys: list[str], identity: dict[str, Any]):
        self.folder = Path(folder)
        self.keys = keys
        self.identity = {"version": JOURNAL_VERSION, "keys": keys_digest(keys), **identity}
        self.done: set[int] = set()

    def _part(self, index: int) -> Path:
        return self.folder / f"{index:05d}.part"

    def open(self) -> tuple[int, int]:
        """Take stock of the parts on disk: (kept, discarded). Parts of another identity, of keys no longer at
        their index, unreadable ones and temporary files of a killed write are deleted."""
        discarded = 0
        header = self.folder / HEADER
        if self.folder.is_dir():
            try:
                same = read_json(header) == self.identity
            except (OSError, json.JSONDecodeError):
                same = False
            if not same:
                discarded = sum(1 for _ in self.folder.glob("*.part"))
                shutil.rmtree(self.folder)
        if not self.folder.is_dir():
            write_json_atomic(header, self.identity)
            return 0, discarded
        for tmp in self.folder.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        for path in sorted(self.folder.glob("*.part")):
            index = int(path.stem) if path.stem.isdigit() else -1
            try:
                row = _read_part(path)[0] if 0 <= index < len(self.keys) else None
            except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError):
                row = None
            if row is None or row.get("key") != self.keys[index]:
                path.unlink(missing_ok=True)
                discarded += 1
                continue
            self.done.add(index)
        return len(self.done), discarded

    def add(self, index: int, row: dict[str, Any], sample: Sample | None) -> None:
        """Keep one finished image (atomically: a kill leaves the part whole or absent)."""
        write_bytes_atomic(self._part(index), _part_bytes(row, sample))
        self.done.add(index)

    @property
    def complete(self) -> bool:
        return len(self.done) == len(self.keys)

    def parts(self) -> Iterator[tuple[dict[str, Any], Sample | None]]:
        """Every image's row and sample in plan order (one read at a time)."""
        for index in range(len(self.keys)):
            yield _read_part(self._part(index))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def remove_leftover(folder: Path, keep_mode: str | None = None) -> None:
    """Remove a journal whose unit is already written (left by a kill between the unit's stats file and the journal's
    removal), unless it is of `keep_mode` (the rescoring of a finished unit keeps its own journal)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    try:
        mode = read_json(folder / HEADER).get("mode")
    except (OSError, json.JSONDecodeError, AttributeError):
        mode = None
    if keep_mode is None or mode != keep_mode:
        shutil.rmtree(folder, ignore_errors=True)


def journal_counts(folder: Path) -> int:
    """How many finished images a partial folder holds (for notes: `verify`, the run's summary)."""
    return sum(1 for _ in Path(folder).glob("*.part"))
