"""What `aigi-scd compress` is asked to do, checked before any work: the codecs (each run once on a probe), the
targets, the sets and the output folder, so that a mistake stops the command with one line."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from aigi_scd.bench.sources import Source, build_sources, folder_source
from aigi_scd.codec import CodecPreset, TargetUnreachableError, build_codec, load_codec_preset
from aigi_scd.config import load_name_list
from aigi_scd.errors import AigiScdError, ConfigError, ModelUnavailableError, OutputDirError


def config_name(codec: str, target: float, oracle: bool = False) -> str:
    """``<codec>-<target>``: the folder and the dataset config of one codec at one target (``misc-offline-0.03``).
    An oracle codec (its semantic layer is the generation prompt) says so in the name when its own name does not:
    ``my-misc-oracle-0.03``."""
    mark = "-oracle" if oracle and "oracle" not in codec else ""
    return f"{codec}{mark}-{target:g}"


def needs_models(preset: CodecPreset) -> bool:
    """Codecs with model backends run in the main process (one copy of the models, on the accelerator)."""
    return preset.kind == "misc" and (
        (preset.semantic is not None and preset.semantic.backend == "vlm")
        or (preset.maps is not None and preset.maps.backend == "clipseg")
        or (preset.decoder is not None and preset.decoder.backend == "diffusion")
    )


@dataclass(frozen=True)
class CodecChoice:
    spec: str  # what the user named: a registry name or a path to a .yaml
    preset: CodecPreset
    sets: tuple[str, ...] | None = None  # the sets it runs on (None: every one; results made elsewhere: their own)

    @property
    def name(self) -> str:
        return self.preset.name

    def targets(self, asked: list[float]) -> list[float]:
        """The targets this codec runs at: those asked for, or, for results made elsewhere, the folder's own."""
        if self.preset.kind != "external":
            return asked
        from aigi_scd.codec.plugins.external import target_folders

        return sorted(target_folders(Path(self.preset.options["results"])))


def parse_codecs(spec: str, results: list[Path] = ()) -> list[CodecChoice]:
    """``--codecs``: registry names or preset paths, each loaded now (a typo stops the command at once); then one
    codec per ``--results`` folder (results made elsewhere)."""
    from aigi_scd.codec.plugins.external import folder_preset

    choices = (
        load_name_list(
            spec,
            lambda name: CodecChoice(name, load_codec_preset(name)),
            "--codecs",
            "codec presets (see `aigi-scd list codecs`)",
        )
        if spec
        else []
    )
    for folder in results:
        if not Path(folder).is_dir():
            raise ConfigError(f"--results {folder}: no such folder; give the folder of bitstreams and reconstructions")
        choices.append(CodecChoice(str(Path(folder).resolve()), folder_preset(Path(folder).resolve())))
    names = [c.name for c in choices]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"two codecs are named {twice!r}; give a results folder a codec.yaml with another name")
    if not choices:
        raise ConfigError("--codecs names nothing; give codec presets (see `aigi-scd list codecs`) or --results DIR")
    return choices


def parse_targets(spec: str) -> list[float]:
    try:
        targets = [float(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--bpp {spec!r}: expected comma-separated numbers such as 0.02,0.03,0.05") from None
    if not targets or any(not math.isfinite(t) or t <= 0 for t in targets):
        raise ConfigError(f"--bpp {spec!r}: expected positive, finite bits per pixel such as 0.02,0.03,0.05")
    if len({config_name("x", t) for t in targets}) != len(targets):
        raise ConfigError(f"--bpp {spec!r} repeats a target")
    return sorted(targets)


def check_codec(choice: CodecChoice):
    """Build the codec and run it once both ways on a small probe, so a codec that cannot run here (missing
    weights or modules; models load on first use) stops the command with one line before any work."""
    if choice.preset.kind == "external":
        return build_codec(choice.preset)  # checked against the sets it scores (bench/external_results.py)
    try:
        codec = build_codec(choice.preset)
        codec.decode(codec.encode_report(Image.new("RGB", (64, 64), (120, 130, 140)), 4.0, prompt=None).data)
    except TargetUnreachableError:
        pass
    except ImportError as exc:
        raise AigiScdError(
            f"codec {choice.name!r} cannot run here: {exc}; use a preset that runs offline (misc-offline, "
            "thumb-avif, avif, webp, jpeg)"
        ) from None
    except ModelUnavailableError as exc:
        raise ModelUnavailableError(f"codec {choice.name!r}: {exc}") from None
    return codec


def check_output(out: Path, is_build: bool) -> None:
    """An image-folder run writes into a new folder or one it wrote before, never over unrelated files."""
    out = Path(out)
    if is_build or not out.exists():
        return
    if not out.is_dir():
        raise OutputDirError(f"--out {out} is a file; give a folder")
    ours = (out / "compress.json").is_file() or (out / "build.json").is_file()
    if not ours and any(out.iterdir()):
        raise OutputDirError(
            f"--out {out} holds files that aigi-scd compress did not write; give a new or empty folder"
        )


def plan_inputs(
    build_dir: Path | None, image_dirs: list[Path], out: Path | None, shard_size: int, workers: int | None
) -> tuple[list[Source], Path]:
    """The sets to compress and the folder results go to, from the command's arguments (checked here)."""
    if build_dir is None and not image_dirs:
        raise ConfigError("give a build folder (aigi-scd compress OUT) or --images FOLDER --out DIR")
    if build_dir is not None and out is not None:
        raise ConfigError("with a build folder, results go into it; drop --out (it is for --images alone)")
    if build_dir is None and out is None:
        raise ConfigError("--images needs --out DIR: where the compressed sets and the benchmark go")
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers must be 0 or more, got {workers}")
    sources = build_sources(build_dir) if build_dir is not None else []
    sources += [folder_source(folder, shard_size) for folder in image_dirs]
    return sources, Path(build_dir if build_dir is not None else out)
