"""Dataset-card parts: one ``<codec>-<target>`` config per folder under ``compressed/`` (so
``datasets.load_dataset(OUT, "misc-offline-0.03")`` yields bitstream, reconstruction and scores), the card of
a folder of compressed image sets, and the reproduce section every card ends with."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from aigi_scd.dataset.files import read_json, write_bytes_atomic


def compressed_features():
    """`datasets.Features` of a compressed sample: the file as bytes, the reconstruction as an image, a json."""
    from datasets import Features, List, Value
    from datasets import Image as ImageFeature

    s, i, f = Value("string"), Value("int64"), Value("float64")
    return Features(
        {
            "__key__": s,
            "__url__": s,
            "bitstream": Value("binary"),
            "png": ImageFeature(),
            "json": {
                "key": s,
                "source": s,
                "source_kind": s,
                "origin": s,
                "codec": s,
                "oracle": Value("bool"),
                "target_bpp": f,
                "bytes": i,
                "bpp": f,
                "width": i,
                "height": i,
                "encode_seconds": f,
                "decode_seconds": f,
                "bitstream_sha256": s,
                "original_sha256": s,
                "scores": List({"name": s, "value": f}),
                "info": s,
            },
        }
    )


def compressed_config_names(out: Path) -> list[str]:
    folder = Path(out) / "compressed"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.tar")))


def compressed_configs(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``configs`` and ``dataset_info`` entries of every compressed set that has data."""
    from datasets import DatasetInfo

    names = compressed_config_names(out)
    if not names:
        return [], []
    features = DatasetInfo(features=compressed_features())._to_yaml_dict()["features"]
    configs = [
        {"config_name": name, "data_files": [{"split": "train", "path": f"compressed/{name}/*.tar"}]} for name in names
    ]
    return configs, [{"config_name": name, "features": copy.deepcopy(features)} for name in names]


def compressed_section(out: Path) -> list[str]:
    """Markdown: how to load the compressed sets, and the benchmark summary when there is one."""
    names = compressed_config_names(out)
    if not names:
        return []
    lines = [
        "## Compressed sets (`aigi-scd compress`)",
        "",
        "One config per codec and target bitrate: `bitstream` (the file exactly as the codec wrote it; "
        "bpp = 8 × bytes / pixels), `png` (its reconstruction) and `json` (bpp, encode/decode seconds, every "
        "score, codec details). Images a codec could not fit into the target are not in its config; they are "
        "counted in `benchmark/results.parquet` as `unreachable`.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("path/to/this/folder", "{names[0]}", split="train")',
        "```",
        "",
        "Configs: " + ", ".join(f"`{n}`" for n in names),
        "",
    ]
    summary = Path(out) / "benchmark" / "summary.md"
    if summary.is_file():
        body = summary.read_text(encoding="utf-8").split("\n", 1)[1]  # drop its title
        lines += [body.replace("\n## ", "\n### ").strip(), ""]
    return lines


def benchmark_pictures_section(out: Path) -> list[str]:
    """Markdown: the rate–quality plots, and a link to the benchmark report when there is one."""
    folder = Path(out) / "benchmark"
    plots = sorted(folder.glob("rd_*.png"))
    report = folder / "report.html"
    if not plots and not report.is_file():
        return []
    lines = ["### Rate–quality plots", ""]
    if report.is_file():
        lines += [
            "Every reconstruction beside its original, with a control to flip or slide between two of them: "
            "[benchmark/report.html](benchmark/report.html) (one self-contained page; open it from disk).",
            "",
        ]
    lines += [f"![{p.stem[3:]}](benchmark/{p.name})" for p in plots]
    return [*lines, ""]


def made_with(out: Path) -> list[str]:
    """The last `aigi-scd compress` command run on `out` (from ``compress.json``), if any."""
    manifest = Path(out) / "compress.json"
    command = read_json(manifest).get("command") if manifest.is_file() else None
    return [command] if command else []


def reproduce_section(commands: list[str], licence: str) -> list[str]:
    """Markdown: the commands that made the folder, and whose licence its images carry."""
    return ["## Reproduce", "", "```", *commands, "```", "", licence, ""]


def project_name() -> str:
    """``aigi-scd`` linked to its project page when the installed package declares one (never a guessed URL)."""
    from importlib import metadata

    try:
        meta = metadata.metadata("aigi-scd")
    except metadata.PackageNotFoundError:
        return "aigi-scd"
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if url.strip().startswith("https://") and label.strip().lower() in ("homepage", "repository", "source"):
            return f"[aigi-scd]({url.strip()})"
    return "aigi-scd"


def render_compress_card(out: Path) -> str:
    """The card of an output folder that holds compressed image folders only (no build). It states no licence:
    the reconstructions carry their originals' licences, which the folder does not record."""
    out = Path(out)
    configs, infos = compressed_configs(out)
    meta = {
        "pretty_name": "AIGI-SCD compression benchmark",
        "tags": ["image-compression", "semantic-compression", "aigi-scd"],
        "configs": configs,
        "dataset_info": infos,
    }
    manifest = read_json(out / "compress.json") if (out / "compress.json").is_file() else {}
    sources = manifest.get("sources", {})
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "# Compression benchmark",
        "",
        f"Image sets compressed with {project_name()} at ultra-low bitrates: "
        + ", ".join(f"`{name}` ({info['kind']}, {info['images']} images)" for name, info in sources.items())
        + ".",
        "",
        *compressed_section(out),
        *benchmark_pictures_section(out),
        *reproduce_section(
            made_with(out) or ["aigi-scd compress (options in compress.json)"],
            "Licences: the reconstructions carry the licence of their originals.",
        ),
    ]
    return "\n".join(lines)


def write_compress_card(out: Path) -> Path:
    path = Path(out) / "README.md"
    write_bytes_atomic(path, render_compress_card(out).encode("utf-8"))
    return path
