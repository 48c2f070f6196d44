"""``build.json``: the manifest of a build folder, and making a folder ready to hold a build or an import.

The manifest records what determines the generated samples (``config``: models' card fingerprints, prompt
ids, seed, images per prompt, shard size, filter preset identity) beside what reproduces them (cards,
prompts, command, preset). A rerun resumes only when ``config`` is equal; otherwise it names what
changed and how to proceed. Sources added by ``aigi-scd import`` are recorded apart, in ``imports`` (a
list, one record per source: its filter preset and every input imported into it), so a build and its
imports resume, overwrite and re-filter independently. A folder that holds only imports has ``config:
null`` and no models; a build run into it later adopts it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from aigi_scd.dataset.files import ensure_dir, read_json_or_explain, write_json_atomic
from aigi_scd.dataset.shards import MANIFEST
from aigi_scd.dataset.swap import STAGING
from aigi_scd.errors import OutputDirError
from aigi_scd.filters.chain import FilterChain
from aigi_scd.filters.preset import preset_spec

MANIFEST_FORMAT = "aigi-scd-build/1"
# What a build writes at the top of its folder; --overwrite removes these and nothing else.
MANAGED_ENTRIES = ("data", "rejects", "README.md", MANIFEST, STAGING)


def _describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = []
    for key in new:
        if old.get(key) != new[key]:
            if key == "prompt_ids":
                parts.append("the prompts differ")
            elif key == "filters":
                was = (old.get(key) or {}).get("preset")
                now = new[key]["preset"]
                parts.append(
                    f"filters: was preset {was!r}, now {now!r}" if was != now else f"filter preset {now!r} changed"
                )
            elif key == "models":
                was, now = ",".join(old.get(key) or {}), ",".join(new[key])
                parts.append(f"models: was {was}, now {now}" if was != now else "a model card changed")
            else:
                parts.append(f"{key}: was {old.get(key)!r}, now {new[key]!r}")
    return "; ".join(parts) or "the configuration differs"


def _refilter_hint(out: Path, old: dict[str, Any], manifest: dict[str, Any]) -> str:
    """When only the filter preset differs, the way to apply it without regenerating."""
    new = manifest["config"]
    if old.get("filters") == new["filters"] or any(old.get(k) != v for k, v in new.items() if k != "filters"):
        return ""
    spec = (manifest.get("preset") or {}).get("spec") or new["filters"]["preset"]
    return f" To apply the new preset to the finished build without regenerating: aigi-scd filter {out} --preset {spec}"


def prepare_out(out: Path, manifest: dict[str, Any], overwrite: bool) -> bool:
    """Make `out` ready for this build; returns True when resuming an existing build of the same config.

    Imported sources already in `out` are kept (also by --overwrite, which replaces the generated part)."""
    out = Path(out)
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--out {out} is a file; give a folder")
    if manifest_path.is_file():
        old = read_json_or_explain(
            manifest_path,
            "the build manifest",
            "restore it, or pass --overwrite to delete this build and start again",
        )
        if not isinstance(old, dict):
            old = {}
        if old.get("config") == manifest["config"]:
            return True
        imports = old.get("imports") or []
        if imports and (old.get("config") is None or overwrite):  # imports only, or their build is replaced
            for model in old.get("models") or []:
                for path in (out / "data" / model, out / "rejects" / model):
                    if path.is_dir():
                        shutil.rmtree(path)
            for entry in ("README.md", STAGING):
                path = out / entry
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            write_json_atomic(manifest_path, {**manifest, "imports": imports})
            return False
        if not overwrite and not any((out / "data").glob("*/*.stats.json")):
            # No shard was finished (e.g. a bad card stopped the first run): nothing to lose, start afresh.
            overwrite = True
        if not overwrite:
            raise OutputDirError(
                f"{out} holds a build with a different configuration "
                f"({_describe_difference(old.get('config') or {}, manifest['config'])}). Rerun with the original "
                "options to resume it, choose another --out, or pass --overwrite to delete it and start again."
                + _refilter_hint(out, old.get("config") or {}, manifest)
            )
        for entry in MANAGED_ENTRIES:
            path = out / entry
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    elif out.is_dir() and any(out.iterdir()):
        raise OutputDirError(
            f"{out} is not empty and holds no aigi-scd build ({MANIFEST} is missing); "
            "choose a new or empty folder for --out (--overwrite never deletes folders it did not create)"
        )
    ensure_dir(out, "choose another --out")
    write_json_atomic(manifest_path, manifest)
    return False


def preset_record(chain: FilterChain) -> dict[str, Any]:
    """How the build.json and the dataset card describe the filter preset in use."""
    import imagehash
    import pyiqa

    return {
        "name": chain.name,
        "spec": preset_spec(chain),
        "description": chain.description,
        "source": chain.source,
        "versions": {"pyiqa": pyiqa.__version__, "imagehash": imagehash.__version__},
    }


def empty_manifest() -> dict[str, Any]:
    """The build.json of a folder that `aigi-scd import` creates: no generated models, no build config."""
    import aigi_scd

    return {
        "format": MANIFEST_FORMAT,
        "aigi_scd": aigi_scd.__version__,
        "config": None,
        "models": [],
        "cards": {},
        "prompts": [],
        "command": None,
        "preset": None,
        "imports": [],
    }


def manifest_if_any(out: Path) -> dict[str, Any] | None:
    """The build.json of `out` (None when there is none); an unreadable one is an error, never treated as empty."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    return read_json_or_explain(path, "the build manifest", "restore it or choose another --out")


def import_record(manifest: dict[str, Any], source: str) -> dict[str, Any] | None:
    return next((r for r in manifest.get("imports") or [] if r["source"] == source), None)


def prepare_import(
    out: Path, source: str, chain: FilterChain, entry: dict[str, Any], overwrite: bool
) -> dict[str, Any]:
    """Make `out` ready to import `entry` (one input's record, with its ``id``) into `source`; returns the
    manifest as written. A source keeps one filter preset: importing with another is refused (or, with
    `overwrite`, the source is emptied and starts again). The same input again is a resume."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--out {out} is a file; give a folder")
    manifest = manifest_if_any(out)
    if manifest is None:
        if out.is_dir() and any(out.iterdir()):
            raise OutputDirError(
                f"{out} is not empty and holds no aigi-scd build ({MANIFEST} is missing); "
                "import into a build folder or a new or empty one"
            )
        manifest = empty_manifest()
    if source in (manifest.get("models") or []):
        raise OutputDirError(
            f"--source {source}: a generated model of the build in {out} has this name; choose another"
        )
    record = import_record(manifest, source)
    identity = chain.identity()
    if record is not None and overwrite:
        for path in (out / "data" / source, out / "rejects" / source):
            if path.is_dir():
                shutil.rmtree(path)
        manifest["imports"] = [r for r in manifest["imports"] if r["source"] != source]
        record = None
    if record is None:
        record = {"source": source, "filters": identity, "preset": preset_record(chain), "inputs": []}
        manifest["imports"] = [*(manifest.get("imports") or []), record]
    elif record["filters"] != identity:
        was = (record.get("preset") or {}).get("spec") or record["filters"]["preset"]
        raise OutputDirError(
            f"source {source} in {out} was filtered with preset {was!r}, not {chain.name!r}: import with --filters "
            f"{was}, choose another --source, or pass --overwrite to empty source {source} and import again"
        )
    inputs = [e for e in record["inputs"] if e["id"] != entry["id"]]
    record["inputs"] = (
        [*inputs, entry]
        if len(inputs) == len(record["inputs"])
        else [entry if e["id"] == entry["id"] else e for e in record["inputs"]]
    )
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
