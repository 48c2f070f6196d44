"""Swap a staged set of files into a build folder, one atomic rename at a time, resumably.

``aigi-scd filter`` writes its new shards, rejects, stats, build.json and card into
``OUT/.filter-staging/`` (same layout as OUT). Only when every file is complete does it write the
journal ``SWAP.json``: the ordered renames and deletions that turn OUT into the new state. Each step
is an ``os.replace`` (every file is at all times either its complete old or complete new version, so
``datasets.load_dataset(OUT)`` keeps working), and every step is idempotent: if the process dies
mid-swap, the next aigi-scd command on OUT finishes it (:func:`finish_pending_swap`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aigi_scd.dataset.files import fsync_dir, read_json, write_json_atomic

STAGING = ".filter-staging"
JOURNAL = "SWAP.json"


def staging_dir(out: Path) -> Path:
    return Path(out) / STAGING


def write_journal(out: Path, operations: list[list[str]]) -> None:
    """Record the swap (``[["move", rel], ...]``, ``[["delete", rel], ...]``, applied in order) and so mark
    the staging complete."""
    write_json_atomic(staging_dir(out) / JOURNAL, {"operations": operations})


def finish_pending_swap(out: Path) -> bool:
    """Apply a complete staged swap in `out` if there is one (returns whether there was)."""
    out = Path(out)
    staging = staging_dir(out)
    journal = staging / JOURNAL
    if not journal.is_file():
        return False
    touched: set[Path] = set()
    for op, rel in read_json(journal)["operations"]:
        target = out / rel
        if op == "move":
            source = staging / rel
            if source.exists():  # else: moved by an earlier, interrupted run
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
                touched.add(target.parent)
        elif op == "delete":
            if target.exists():
                target.unlink()
                touched.add(target.parent)
        else:
            raise ValueError(f"{journal}: unknown operation {op!r}")
    for folder in touched:
        fsync_dir(folder)
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return True
