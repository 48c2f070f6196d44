"""``build.json``: the manifest of a build folder, and making a folder ready to hold a build.

The manifest records what determines the samples (``config``: models' card fingerprints, prompt ids,
seed, images per prompt, shard size, filter preset identity) beside what reproduces them (cards,
prompts, command, preset). A rerun resumes only when ``config`` is equal; otherwise it names what
changed and how to proceed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from aigi_scd.dataset.files import read_json, write_json_atomic
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
    """Make `out` ready for this build; returns True when resuming an existing build of the same config."""
    out = Path(out)
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--out {out} is a file; give a folder")
    if manifest_path.is_file():
        try:
            old = read_json(manifest_path)
        except ValueError:
            old = {}
        if old.get("config") == manifest["config"]:
            return True
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
    out.mkdir(parents=True, exist_ok=True)
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
