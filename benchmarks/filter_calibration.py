"""Pass rates of a filter preset's filters on real images: each per-image filter run alone on every image of each
set (so a filter's rate does not depend on the ones before it), and the whole chain's (dedup, which judges images
against each other, left out). The calibration table of filters/README.md comes from it: sets of real AI-generated
images (any folders: PNG, JPEG, WebP) and the Kodak photographs, under the preset before and after a change.

    python benchmarks/filter_calibration.py --set real-aigi=DIR [--set NAME=DIR ...] [--kodak ../shared/data/kodak] \\
        [--presets offline,path/to/old-offline.yaml] [--show-rejected]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from aigi_scd.filters import Candidate
from aigi_scd.filters.preset import load_filter_preset
from aigi_scd.prompts.sidecar import image_files

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def verdicts(preset: str, folder: Path) -> tuple[list[str], dict[str, dict[str, tuple[float | None, bool]]]]:
    """(the preset's per-image filter names, image → filter → (score, passed)), every filter on every image."""
    chain = load_filter_preset(preset)
    chain.prepare("cpu")
    found: dict[str, dict[str, tuple[float | None, bool]]] = {}
    for path in image_files(folder):
        data = path.read_bytes()
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        candidate = Candidate(path.name, data, pixels)
        results = [f([candidate])[0] for f in chain.filters]
        found[path.relative_to(folder).as_posix()] = {r.name: (r.score, r.passed) for r in results}
    return [f.name for f in chain.filters], found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=DIR", help="a set of real images")
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--presets", default="offline", help="comma-separated preset names or .yaml paths")
    parser.add_argument("--show-rejected", action="store_true", help="list each rejected image with its scores")
    args = parser.parse_args()
    sets = dict(item.split("=", 1) for item in args.set)
    if args.kodak.is_dir():
        sets["kodak"] = str(args.kodak)
    presets = [p for p in args.presets.split(",") if p]
    table: dict[str, dict[str, dict[str, str]]] = {}  # filter → preset → set → "passed/total"
    for preset in presets:
        for name, folder in sets.items():
            names, found = verdicts(preset, Path(folder))
            for filter_name in [*names, "chain (all of them)"]:
                if filter_name.startswith("chain"):
                    passed = sum(all(ok for _, ok in v.values()) for v in found.values())
                else:
                    passed = sum(v[filter_name][1] for v in found.values())
                cell = f"{passed}/{len(found)} ({100 * passed / len(found):.0f}%)"
                table.setdefault(filter_name, {}).setdefault(preset, {})[name] = cell
            if args.show_rejected:
                for image, v in found.items():
                    failed = [f"{k} {s:.3g}" for k, (s, ok) in v.items() if not ok and s is not None]
                    failed += [k for k, (s, ok) in v.items() if not ok and s is None]
                    if failed:
                        print(f"{preset} {name} {image}: rejected by {', '.join(failed)}")
    columns = [(p, s) for p in presets for s in sets]
    print("| filter | " + " | ".join(f"{s} ({Path(p).stem})" for p, s in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for filter_name, by_preset in table.items():
        cells = [by_preset.get(p, {}).get(s, "—") for p, s in columns]
        print(f"| {filter_name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
