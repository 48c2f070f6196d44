"""Does a shard (or a compressed unit) hold what its stats file says? Two depths of the same question.

- :func:`tar_keys` / :func:`shard_files_problem`: cheap, from the tar headers alone (no image is read), so a
  resuming build, ``filter`` and ``compress`` can check every finished shard before trusting it: a truncated
  tar, a missing tar, or keys that disagree with the stats file.
- :func:`sample_problems`: every sample read, its json parsed, its PNG decoded and its sha256 compared with the
  one its json records; :func:`unit_problems`: a compressed unit's bitstreams against their recorded bytes,
  bpp and hashes (``aigi-scd verify``, which reports :class:`Finding` objects).

Python's tarfile treats a tar cut at a member boundary as complete, so :func:`tar_keys` also checks that the
two zero blocks that end every tar we write are present.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.dataset.sample import sha256
from aigi_scd.dataset.shards import (
    IMAGE_FIELDS,
    base_plus_ext,
    image_field,
    iter_samples,
    model_data_dir,
    model_reject_dir,
    read_stats,
    reject_name,
    shard_name,
    stats_files,
)
from aigi_scd.errors import DamagedDataError

END_OF_ARCHIVE = 2 * tarfile.BLOCKSIZE  # tarfile writes two zero blocks after the last member
BPP_TOLERANCE = 1e-9


@dataclass
class Finding:
    """One thing wrong with an output folder: where, what, and what ``verify --repair`` does about it.

    `repair` says what the repair does (empty: nothing it can do); `action` does it and returns what it did;
    `regenerate` is the command that makes again what the repair removed or cannot rebuild; `order` sorts
    repairs (shards before units, units before tables, tables before the card).
    """

    where: Path
    problem: str
    repair: str = ""
    regenerate: str = ""
    action: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    order: int = 0


def tar_keys(path: Path) -> dict[str, list[str]]:
    """Sample key → its member extensions, in tar order, from the headers alone. DamagedDataError for a tar
    that is cut short, has a damaged header or lacks its end-of-archive blocks."""
    path = Path(path)
    keys: dict[str, list[str]] = {}
    try:
        size = path.stat().st_size
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                key, ext = base_plus_ext(member.name)
                if member.isfile() and key is not None:
                    keys.setdefault(key, []).append(ext.lower())
            end = tar.offset
        with open(path, "rb") as f:
            f.seek(end)
            tail = f.read(END_OF_ARCHIVE)
    except (tarfile.TarError, EOFError) as exc:
        raise DamagedDataError(f"{path}: the tar is damaged ({exc})") from None
    except FileNotFoundError:
        raise DamagedDataError(f"{path}: the tar is missing") from None
    if len(tail) < END_OF_ARCHIVE or tail.count(0) != END_OF_ARCHIVE:
        got = "ends" if len(tail) < END_OF_ARCHIVE else "has unreadable data"
        raise DamagedDataError(f"{path}: the tar is truncated (it {got} at byte {end} of {size}, before its end)")
    return keys


def readable_keys(path: Path) -> tuple[list[str], list[str]]:
    """(keys of the whole samples, problems) of a tar from its headers alone: for a damaged tar, the samples
    before the damage whose members are all there (what `verify --quick` counts as present, as reading the tar
    in full does)."""
    try:
        return list(tar_keys(path)), []
    except DamagedDataError as exc:
        problem = exc.problem
    keys: dict[str, list[str]] = {}
    try:
        size = path.stat().st_size
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                key, ext = base_plus_ext(member.name)
                if member.offset_data + member.size > size:
                    keys.setdefault(key or "", [])  # its data is cut short: its sample is the last one seen
                    break
                if member.isfile() and key is not None:
                    keys.setdefault(key, []).append(ext.lower())
    except (OSError, tarfile.TarError, EOFError):
        pass  # the damage: what was read before it stands
    whole = list(keys)
    if whole and not _one_image_and_json(keys[whole[-1]]):
        whole.pop()  # the sample the damage fell in (a json-only reject cut there cannot be told from a whole one)
    return [k for k in whole if k], [problem]


def shard_files_problem(out: Path, model: str, index: int, stats: dict[str, Any]) -> str | None:
    """Why the tars of a finished shard do not match its stats file (None when they do), from headers only."""
    kept_path = model_data_dir(out, model) / shard_name(index)
    reject_path = model_reject_dir(out, model) / reject_name(index)
    try:
        kept = tar_keys(kept_path) if kept_path.exists() else None
        rejected = tar_keys(reject_path) if reject_path.exists() else None
    except DamagedDataError as exc:
        return exc.problem
    expected = list(stats.get("keys") or [])
    if kept is None:
        if expected or stats.get("kept"):
            return f"{kept_path}: the tar is missing, though its stats file lists {len(expected)} samples"
    else:
        if list(kept) != expected or len(expected) != stats.get("kept"):
            return (
                f"{kept_path}: holds {len(kept)} samples but its stats file says {stats.get('kept')} "
                f"({_first_difference(list(kept), expected)})"
            )
        incomplete = [k for k, exts in kept.items() if not _one_image_and_json(exts)]
        if incomplete:
            return f"{kept_path}: sample {incomplete[0]} lacks its image or json"
    n_rejected = len(rejected) if rejected is not None else 0
    if n_rejected != (stats.get("rejected") or 0):
        return f"{reject_path}: holds {n_rejected} rejected samples but its stats file says {stats.get('rejected')}"
    return None


def _one_image_and_json(exts: Any) -> bool:
    """A kept sample holds its json and exactly one image member (png; an imported original: jpg or webp)."""
    names = set(exts)
    return "json" in names and len(names - {"json"}) == 1 and (names - {"json"}) <= set(IMAGE_FIELDS)


def _first_difference(found: list[str], expected: list[str]) -> str:
    extra = [k for k in found if k not in set(expected)]
    missing = [k for k in expected if k not in set(found)]
    if missing:
        return f"missing {missing[0]}"
    if extra:
        return f"not in the stats file: {extra[0]}"
    return "the keys are in another order"


def sample_problems(path: Path, on_sample: Callable[[], None] | None = None) -> tuple[list[str], list[str]]:
    """(keys in order, problems) of a build tar read in full: every json parses and names its key, every PNG
    decodes and matches the sha256 its json records, no key appears twice."""
    from PIL import Image

    keys: list[str] = []
    problems: list[str] = []
    try:
        for sample in iter_samples(path):
            key = sample["__key__"]
            if key in keys:
                problems.append(f"{path}: key {key} appears twice")
            keys.append(key)
            try:
                record = json.loads(sample.get("json", b""))
            except ValueError as exc:
                problems.append(f"{path}: {key}: its json does not parse ({exc})")
                continue
            if not isinstance(record, dict) or record.get("key") != key:
                problems.append(f"{path}: {key}: its json names another key ({_get(record, 'key')!r})")
            member = image_field(sample)  # png; an imported original keeps its format (jpg, webp)
            if member is None:
                if record.get("verdict") == "keep":
                    problems.append(f"{path}: {key}: a kept sample without its image")
            else:
                data = sample[member]
                if record.get("sha256") != sha256(data):
                    problems.append(f"{path}: {key}: the {member}'s sha256 differs from the one its json records")
                try:
                    with Image.open(io.BytesIO(data)) as image:
                        image.load()
                except Exception as exc:  # any decoder failure is the finding, not a crash
                    problems.append(f"{path}: {key}: the {member} does not decode ({exc})")
            if on_sample is not None:
                on_sample()
    except DamagedDataError as exc:
        problems.append(exc.problem)
    return keys, problems


def _get(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, dict) else None


def resumable_shards(out: Path, model: str, warn: Callable[[str], None] | None = None) -> dict[int, dict[str, Any]]:
    """Index → stats of the finished shards of `model` a resuming run may skip: stats readable and tars that
    match them. Any other shard is left out (so it is redone), and `warn` is told why."""
    done = {}
    for index, path in stats_files(out, model).items():
        try:
            stats = read_stats(path)
        except DamagedDataError as exc:
            problem: str | None = exc.problem
        else:
            problem = shard_files_problem(out, model, index, stats)
        if problem is None:
            done[index] = stats
        elif warn is not None:
            warn(f"{model} shard {index}: {problem}; making it again")
    return done


def unit_problems(stats_path: Path, deep: bool = True) -> list[str]:
    """Why a compressed unit's files do not hold what its stats file says: rows and counts agree, every ok row's
    bpp is 8 × bytes / pixels, and (`deep`) every stored bitstream has the bytes, bpp and sha256 its row and
    json record and its reconstruction decodes at the original size."""
    from aigi_scd.dataset.files import read_json

    try:
        stats = read_json(stats_path)
        rows, keys = list(stats["rows"]), list(stats["keys"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{stats_path}: its stats file is unreadable ({type(exc).__name__}: {exc})"]
    problems = []
    if [r.get("key") for r in rows] != keys:
        problems.append(f"{stats_path}: its rows are not one per key in order")
    counts = {s: sum(r.get("status") == s for r in rows) for s in ("ok", "unreachable", "error")}
    if stats.get("counts") != counts:
        problems.append(f"{stats_path}: its counts {stats.get('counts')} disagree with its rows {counts}")
    ok = {r["key"]: r for r in rows if r.get("status") == "ok"}
    for key, row in ok.items():
        if not _bpp_matches(row.get("bpp"), row.get("bytes"), row.get("width"), row.get("height")):
            problems.append(f"{stats_path}: {key}: bpp {row.get('bpp')} is not 8 × {row.get('bytes')} bytes / pixels")
    tar = stats_path.with_name(stats_path.name.removesuffix(".stats.json") + ".tar")
    if not tar.exists():
        return problems + ([f"{tar}: the tar is missing, though {len(ok)} rows are ok"] if ok else [])
    try:
        listed = list(tar_keys(tar))
    except DamagedDataError as exc:
        return [*problems, exc.problem]
    if listed != list(ok):
        problems.append(f"{tar}: holds {len(listed)} samples, its stats file {len(ok)} ok rows")
    if deep:
        problems += _bitstream_problems(tar, ok)
    return problems


def _bpp_matches(bpp: Any, size: Any, width: Any, height: Any) -> bool:
    try:
        return abs(float(bpp) - 8.0 * size / (width * height)) <= BPP_TOLERANCE
    except (TypeError, ValueError, ZeroDivisionError):
        return False


def _bitstream_problems(tar: Path, ok: dict[str, dict[str, Any]]) -> list[str]:
    from PIL import Image

    problems = []
    for sample in iter_samples(tar):
        key = sample["__key__"]
        bitstream, row = sample.get("bitstream"), ok.get(key)
        try:
            record = json.loads(sample.get("json", b""))
        except ValueError as exc:
            problems.append(f"{tar}: {key}: its json does not parse ({exc})")
            continue
        if bitstream is None or row is None:
            problems.append(f"{tar}: {key}: {'no bitstream' if bitstream is None else 'no ok row in the stats file'}")
            continue
        size = len(bitstream)
        if record.get("bytes") != size or row.get("bytes") != size:
            problems.append(
                f"{tar}: {key}: the bitstream has {size} bytes, its json says {record.get('bytes')} and its row "
                f"{row.get('bytes')}"
            )
        if not _bpp_matches(record.get("bpp"), size, record.get("width"), record.get("height")):
            problems.append(f"{tar}: {key}: recorded bpp {record.get('bpp')} is not 8 × {size} bytes / pixels")
        if not (record.get("bitstream_sha256") == row.get("bitstream_sha256") == sha256(bitstream)):
            problems.append(f"{tar}: {key}: the bitstream's sha256 differs from the one recorded")
        try:
            with Image.open(io.BytesIO(sample.get("png", b""))) as image:
                image.load()
                if image.size != (record.get("width"), record.get("height")):
                    problems.append(f"{tar}: {key}: the reconstruction is {image.size}, not the original size")
        except Exception as exc:  # any decoder failure is the finding
            problems.append(f"{tar}: {key}: the reconstruction does not decode ({exc})")
    return problems
