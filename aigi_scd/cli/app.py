"""The `aigi-scd` click group: one-line errors instead of tracebacks, the entry point, and the reproduce
command each job records (derived from the parsed parameters, so it cannot drift from the options)."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable
from typing import Any

import click

from aigi_scd import __version__
from aigi_scd.errors import AigiScdError


class _Group(click.Group):
    """Turns AigiScdError into a one-line message and exit code 1, never a traceback; lists each command with the
    whole first sentence of its help (click cuts it to the terminal width with "...")."""

    group_class = type  # subgroups (`list`) behave the same

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AigiScdError as exc:
            raise click.ClickException(str(exc)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class DeviceType(click.ParamType):
    """``--device``: a choice of auto, cpu, cuda, cuda:N or mps (N: the GPU index)."""

    name = "device"
    choices = ("auto", "cpu", "cuda", "cuda:N", "mps")

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
            return text
        self.fail(f"{value!r} is not one of {', '.join(self.choices)} (N: the GPU index, e.g. cuda:1)", param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in self.choices if c.startswith(incomplete) and c != "cuda:N"]


DEVICE = DeviceType()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="aigi-scd")
def cli() -> None:
    """Build AIGI-SCD, a benchmark of AI-generated images for ultra-low-bitrate semantic compression.

    \b
    Start offline, with tiny random-weight pipelines (no downloads):
      aigi-scd build --models tiny-sdxl,tiny-pixart --num-prompts 6 --seed 0 --out out/tiny
    On a machine with a GPU and a hub connection, with real models:
      aigi-scd build --models sdxl,pixart --num-prompts 1000 --out out/aigi-scd
    Then: datasets.load_dataset("out/aigi-scd")

    \b
    Make or import prompts; re-filter a build with another preset, without regenerating:
      aigi-scd prompts --suite aigi-scd -n 1000 --seed 0 --out prompts.jsonl
      aigi-scd filter out/tiny --preset offline

    \b
    Benchmark codecs on a build (and image folders), then look at out/tiny/benchmark/report.html:
      aigi-scd compress out/tiny --codecs misc-offline,thumb-avif,avif,webp,jpeg --bpp 0.3,1 --metrics offline
      aigi-scd card out/tiny        # rewrite card, datasheet, pictures and report from what is on disk

    \b
    Compress one image with the MISC codec or a baseline, and back:
      aigi-scd encode photo.png -o photo.misc --bpp 0.03 --codec misc-offline
      aigi-scd decode photo.misc -o photo.decoded.png

    \b
    See what is available: aigi-scd list models | codecs | filters | prompts
    """


def reproduce_command(ctx: click.Context, leave_out: Iterable[str] = (), resolved: dict[str, Any] | None = None) -> str:
    """The command line that makes the same output, from the parameters click parsed: every parameter
    except those in `leave_out` (how to run, not what to make), with `resolved` values replacing what the
    command worked out from a default (the prompt count, the preset it chose)."""
    values = {**ctx.params, **(resolved or {})}
    args = ["aigi-scd", ctx.info_name or ""]
    for param in ctx.command.params:
        if param.name in leave_out or param.name not in values:
            continue
        value = values[param.name]
        if value is None or (param.multiple and not value):
            continue
        items = list(value) if param.multiple else [value]
        if isinstance(param, click.Argument):
            args += [str(v) for v in items]
        elif isinstance(param, click.Option) and param.is_flag and not param.secondary_opts:
            if value:
                args.append(max(param.opts, key=len))
        elif isinstance(param, click.Option) and param.is_flag:
            args.append(max(param.opts if value else param.secondary_opts, key=len))
        else:
            option = max(param.opts, key=len)
            for item in items:
                args += [option, str(item)]
    return shlex.join(args)


def main(argv: list[str] | None = None) -> None:
    """Console entry point; `argv` lets tests call it directly."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="aigi-scd")
