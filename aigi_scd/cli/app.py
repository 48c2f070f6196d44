"""The `aigi-scd` click group: one-line errors instead of tracebacks (``-v`` shows them), a clean stop on
Ctrl-C, the entry point, and the reproduce command each job records (derived from the parsed parameters,
so it cannot drift from the options).

Exit codes: 0 done; 1 the command stopped on a problem its one line names (bad input, unwritable output,
damaged data; ``verify``: problems found); 2 the command line itself is wrong (unknown option, value out of
range: click's usage error); 130 interrupted (Ctrl-C), with the command that resumes (also when the Ctrl-C
surfaced as another error: a library's own, or a cleanup's that failed after it).
"""

from __future__ import annotations

import re
import shlex
import signal
import sys
import threading
import traceback
from collections.abc import Iterable
from typing import Any, NoReturn

import click

from aigi_scd import __version__
from aigi_scd.errors import AigiScdError

EXIT_INTERRUPTED = 130
ARGV = "aigi_scd.argv"


class _CtrlC:
    """Notes that a Ctrl-C arrived, then raises KeyboardInterrupt as Python's own handler does. A Ctrl-C can surface
    as another error: a library that catches it and raises its own, or a cleanup that fails on what the interrupt
    left half-done (and so replaces it). The command still stopped because of the Ctrl-C, so it is reported as one:
    exit 130 with the command that resumes, not as a bug."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def watch(self) -> None:
        """Note Ctrl-C from now on, where Python's own handler is in place (not where SIGINT is ignored, as in a
        background job, nor off the main thread)."""
        self.seen = False
        on_main = threading.current_thread() is threading.main_thread()
        if on_main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self)

    def unwatch(self) -> None:
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous)
        self._previous = None

    def behind(self, exc: BaseException) -> bool:
        """Whether `exc` came of a Ctrl-C: one arrived during the command, or it is in the exception's chain."""
        visited, chained = set(), exc
        while chained is not None and id(chained) not in visited:
            if isinstance(chained, KeyboardInterrupt):
                return True
            visited.add(id(chained))
            chained = chained.__cause__ or chained.__context__
        return self.seen


_ctrl_c = _CtrlC()


def _write_failure(exc: BaseException) -> AigiScdError | None:
    """A full, read-only or forbidden output met anywhere (our writers or a library's) as one line."""
    from aigi_scd.dataset.files import is_write_failure, unwritable

    return unwritable(None, exc) if is_write_failure(exc) else None


class _Group(click.Group):
    """Turns AigiScdError (and a full or read-only disk) into a one-line message and exit code 1, any other
    exception into one line saying it is a bug, and Ctrl-C into a line with the command that resumes; with
    ``-v`` the traceback is printed too. Drops what dependencies print while they are imported (``-v`` keeps it).
    Lists each command with the whole first sentence of its help (click cuts it to the terminal width with "...").
    """

    group_class = type  # subgroups (`list`) behave the same

    def make_context(self, info_name, args, parent=None, **extra):
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta[ARGV] = list(args)
        return ctx

    def invoke(self, ctx: click.Context):
        verbose = bool(ctx.find_root().params.get("verbose"))
        if ctx.parent is None:
            from aigi_scd.weights.quiet_imports import install

            install(quiet=not verbose)  # what dependencies print when imported is not this command's output
            _ctrl_c.watch()
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            self._interrupted(ctx)
        except Exception as exc:
            if verbose:
                traceback.print_exc()
            if _ctrl_c.behind(exc):  # a Ctrl-C that surfaced as another error (see _CtrlC)
                self._interrupted(ctx)
            known = exc if isinstance(exc, AigiScdError) else _write_failure(exc)
            if known is not None:
                raise click.ClickException(" ".join(str(known).split())) from None
            if verbose:
                raise
            text = " ".join(str(exc).split())[:300]
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {text} (a bug in aigi-scd, not in your input; rerun with "
                "`aigi-scd -v ...` for the traceback and report it)"
            ) from None
        finally:
            if ctx.parent is None:
                _ctrl_c.unwatch()

    @staticmethod
    def _interrupted(ctx: click.Context) -> NoReturn:
        again = shlex.join(["aigi-scd", *ctx.meta.get(ARGV, [])])
        click.echo(
            "\nInterrupted. Work finished so far is kept and nothing half-written remains; "
            f"run the same command again to go on: {again}",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

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


class BatchSizeType(click.ParamType):
    """``build --batch-size``: a positive number, or auto (the most that fit the device's free memory)."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int) and value >= 1:
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return text
        try:
            number = int(text)
        except ValueError:
            self.fail(f"{value!r} is not a positive number or auto", param, ctx)
        if number < 1:
            self.fail(f"{number} is not in the range x>=1 (or auto)", param, ctx)
        return number


BATCH_SIZE = BatchSizeType()


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that also refuses nan and infinities (which a plain range lets through): a number out of
    range is a command-line error, exit code 2, whatever it is. `what` names the number in the message."""

    def __init__(self, *args: Any, what: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number{self.what}", param, ctx)
        return number


BPP = FiniteFloatRange(min=0, min_open=True, what=" of bits per pixel (such as 0.03)")  # encode --bpp
COSINE = FiniteFloatRange(min=0, max=1, min_open=True, what=" (a cosine similarity such as 0.92)")  # --near-dup


class BppListType(click.ParamType):
    """compress ``--bpp``: comma-separated positive, finite targets, checked when the command line is parsed
    (exit code 2 for a number out of range); the text itself is what the command receives."""

    name = "BPP[,BPP...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from aigi_scd.bench.options import parse_targets
        from aigi_scd.errors import ConfigError

        try:
            parse_targets(str(value))
        except ConfigError as exc:
            self.fail(str(exc).removeprefix("--bpp "), param, ctx)
        return str(value)


BPP_LIST = BppListType()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="aigi-scd")
@click.option("-v", "--verbose", is_flag=True, help="Show the full traceback when a command stops on an error.")
def cli(verbose: bool) -> None:
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
    Check a build or compress folder (and repair what can be rebuilt):
      aigi-scd verify out/tiny --repair

    \b
    See what is available: aigi-scd list models | codecs | filters | prompts
    Exit codes: 0 done, 1 stopped on the problem its message names, 2 command-line usage error,
    130 interrupted (Ctrl-C; rerun the same command to go on).
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
