"""`aigi-scd encode` and `decode`: one image through one codec, as a file on disk."""

from __future__ import annotations

from pathlib import Path

import click

from aigi_scd.cli.app import BPP, cli
from aigi_scd.errors import AigiScdError


class _EncodeCommand(click.Command):
    """`encode --help` ends with every codec preset's default target and named levels, read from the registry."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from aigi_scd.codec.presets import codec_preset_paths, load_codec_preset_file

        rows = []
        for name, path in codec_preset_paths().items():
            try:
                preset = load_codec_preset_file(path)
            except AigiScdError as exc:
                rows.append((name, f"(invalid preset: {exc})"))
                continue
            quality = preset.options.get("quality")
            if preset.default_bpp:
                text = f"{preset.default_bpp:g} bpp"
            else:
                text = "no default target: " + (f"quality {quality}" if quality is not None else "the codec's own")
            levels = ", ".join(f"{k} {v:g}" for k, v in preset.levels.items())
            rows.append((name, text + (f"; --level {levels}" if levels else "")))
        if rows:
            with formatter.section("Each preset's default target (without --bpp or --level) and levels"):
                formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@cli.command(cls=_EncodeCommand)
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the compressed file.",
)
@click.option(
    "--codec",
    "codec_name",
    default="misc-offline",
    show_default=True,
    help="Codec preset: a name from `aigi-scd list codecs` or a path to a codec .yaml file.",
)
@click.option(
    "--bpp",
    type=BPP,
    default=None,
    help="Target bits per pixel (every byte of the file counts) [the preset's default, listed below].",
)
@click.option("--level", default=None, help="A named target of the preset (low, mid, high: listed below).")
@click.option("--prompt", default=None, help="Generation prompt of an AI-generated image (MISC's prompt semantics).")
def encode(
    image: Path, output: Path, codec_name: str, bpp: float | None, level: str | None, prompt: str | None
) -> None:
    """Compress IMAGE into a file at a target bitrate.

    \b
    aigi-scd encode kodim01.png -o kodim01.misc --bpp 0.03 --codec misc-offline
    aigi-scd encode kodim01.png -o kodim01.avif --bpp 0.2 --codec avif
    A target below what the codec can reach is reported, never exceeded.
    """
    from aigi_scd.codec import build_codec, load_codec_preset
    from aigi_scd.dataset.files import write_bytes_atomic

    preset = load_codec_preset(codec_name)
    target = preset.target(bpp, level)
    result = build_codec(preset).encode_report(image, target, prompt=prompt)
    write_bytes_atomic(output, result.data)
    target_text = f" (target {target:g})" if target is not None else ""
    click.echo(
        f"{output}: {preset.name}, {result.width}x{result.height}, {len(result.data)} bytes, "
        f"{result.bpp:.4f} bpp{target_text}"
    )
    if "layers" in result.info:
        layers = ", ".join(f"{k} {v} B" for k, v in result.info["layers"].items())
        click.echo(
            f"  layers: {layers}; thumbnail {result.info.get('thumbnail')}, quality {result.info.get('quality')}"
        )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the decoded image: .png (lossless) or another extension Pillow writes (.jpg, .webp...).",
)
@click.option(
    "--codec",
    "codec_name",
    default=None,
    help="The codec preset that wrote FILE, when the registry does not hold it (a path to its .yaml file); "
    "by default the file names its codec.",
)
def decode(file: Path, output: Path, codec_name: str | None) -> None:
    """Decode a FILE written by any aigi-scd codec (the file names its codec) to an image.

    \b
    aigi-scd decode photo.misc -o photo.png
    aigi-scd decode photo.misc -o photo.png --codec my-presets/misc-custom.yaml
    A damaged file is reported in one line (`invalid bitstream at byte N: ...`), exit code 1.
    """
    from aigi_scd.codec import decode_file, load_codec_preset
    from aigi_scd.codec.image import image_file_bytes, output_format
    from aigi_scd.dataset.files import write_bytes_atomic

    output_format(output)  # an output name Pillow cannot write is refused before decoding
    preset = load_codec_preset(codec_name) if codec_name else None
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise AigiScdError(f"cannot read {file}: {exc.strerror}") from None
    image, codec = decode_file(data, preset=preset)
    write_bytes_atomic(output, image_file_bytes(image, output))
    click.echo(
        f"{output}: {image.size[0]}x{image.size[1]} from {codec.name}, {len(data)} bytes "
        f"({8 * len(data) / (image.size[0] * image.size[1]):.4f} bpp)"
    )
