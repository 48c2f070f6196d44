"""What a newcomer reads in `--help` (issue 13): examples of every stage, one-liners that are not cut, the codec
presets' targets, what needs downloads, and `--device` as a choice."""

from __future__ import annotations

import re

import click
import pytest
from conftest import REPO, run_cli

from aigi_scd.bench.metrics import PRESETS
from aigi_scd.cli import cli
from aigi_scd.codec.presets import all_presets


def help_of(*args: str) -> str:
    from click.testing import CliRunner

    return CliRunner().invoke(cli, [*args, "--help"], terminal_width=80, catch_exceptions=False).output


def test_top_level_help_shows_every_stage_and_whole_one_liners():
    text = help_of()
    for example in ("aigi-scd build ", "aigi-scd prompts ", "aigi-scd filter ", "aigi-scd compress ", "aigi-scd card "):
        assert example in text, example
    assert "..." not in text.split("Commands:")[1]
    listed = re.sub(r"\s+", " ", text.split("Commands:")[1])
    for name, command in cli.commands.items():
        first = command.get_short_help_str(limit=10_000)
        assert f"{name} {first}" in listed, name  # the whole first sentence, wrapped but not cut


def test_encode_help_shows_each_presets_default_target_and_levels():
    text = re.sub(r"\s+", " ", help_of("encode"))
    for preset in all_presets():
        assert f" {preset.name} " in text
        if preset.default_bpp:
            levels = ", ".join(f"{k} {v:g}" for k, v in preset.levels.items())
            assert f"{preset.name} {preset.default_bpp:g} bpp; --level {levels}" in text, preset.name


def test_compress_help_says_bpp_is_a_list_and_what_downloads():
    text = re.sub(r"\s+", " ", help_of("compress"))
    assert "--bpp BPP[,BPP...] Target bits per pixel, a comma-separated list" in text
    needs_weights = [m for m in PRESETS["full"] if m not in PRESETS["offline"]]
    assert f"of which {', '.join(needs_weights[:-1])} and {needs_weights[-1]} download weights" in text
    assert "misc downloads its models" in text and "--metrics offline" in text


@pytest.mark.parametrize("command", ["build", "filter", "compress", "import"])
def test_device_is_a_choice(command):
    option = next(p for p in cli.commands[command].params if p.name == "device")
    assert "[auto|cpu|cuda|cuda:N|mps]" in help_of(command)
    context = click.Context(cli.commands[command])
    assert [option.type.convert(v, option, context) for v in ("auto", "CPU", "cuda:1")] == ["auto", "cpu", "cuda:1"]
    result = run_cli(command, "--device", "gpu", check=False)
    assert result.exit_code == 2 and "'gpu' is not one of auto, cpu, cuda, cuda:N, mps" in result.output


def test_the_report_sample_size_is_stated_as_it_is():
    from aigi_scd.bench.report import DEFAULT_REPORT_IMAGES

    assert f"spread evenly over the set [{DEFAULT_REPORT_IMAGES}]" in re.sub(r"\s+", " ", help_of("card"))
    readme = re.sub(r"\s+", " ", (REPO / "README.md").read_text())
    assert f"Sets are sampled ({DEFAULT_REPORT_IMAGES} images each" in readme
