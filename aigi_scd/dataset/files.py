"""Files that are either their old or their complete new content, never half written; and one clear line
(instead of a traceback) when the disk is full, read-only or not ours to write."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path
from typing import Any

from aigi_scd.errors import DamagedDataError, OutputDirError

# errno → what to do about it, for errors that mean "this place cannot take the file".
WRITE_FIXES = {
    errno.ENOSPC: "free disk space or choose another output folder",
    errno.EDQUOT: "free space within your disk quota or choose another output folder",
    errno.EFBIG: "the file exceeds this process's file-size limit (ulimit -f); raise it or choose another folder",
    errno.EROFS: "the file system is read-only; choose another output folder",
    errno.EACCES: "no permission to write there; choose another output folder or fix its permissions",
    errno.EPERM: "no permission to write there; choose another output folder or fix its permissions",
}


def is_write_failure(exc: BaseException) -> bool:
    """Whether `exc` says the output place cannot take a file (full, read-only, no permission, size limit)."""
    return isinstance(exc, OSError) and exc.errno in WRITE_FIXES


def unwritable(path: Path | str | None, exc: OSError, fix: str | None = None) -> OutputDirError:
    """The one-line error for a write that failed because of where it writes, naming the file and the fix."""
    where = path if path is not None else (exc.filename or "a file")
    fix = fix or WRITE_FIXES.get(exc.errno, "choose another output path")
    return OutputDirError(
        f"cannot write {where}: {exc.strerror or exc}; {fix}. Files written before are complete and kept: "
        "rerun the same command to go on"
    )


def ensure_dir(path: Path, fix: str | None = None) -> Path:
    """``mkdir -p path``; a place that cannot hold it (a file in the way, read-only, no permission) becomes one
    OutputDirError line."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            raise OutputDirError(
                f"cannot make the folder {path}: a file is in the way; {fix or 'choose another path'}"
            ) from None
        raise unwritable(path, exc, fix) from exc
    return path


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` holds either its old content or all of `data`; a failed write
    leaves no temporary file and raises OutputDirError naming the file and the fix."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    ensure_dir(path.parent)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # also Ctrl-C mid-write: no temporary file is left behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # full, read-only, forbidden, or a folder where the file should go
            raise unwritable(path, exc) from exc
        raise
    fsync_dir(path.parent)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_json_or_explain(path: Path, what: str, fix: str) -> Any:
    """`path` as JSON; an unreadable file (damaged, not JSON, unreadable bytes) raises DamagedDataError
    naming `what` it is and the `fix`."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise DamagedDataError(f"{path}: {what} is missing", fix) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DamagedDataError(f"{path}: {what} is unreadable ({reason})", fix) from None
