"""What a dependency prints while it is imported never reaches the user's output: one line stays one line
(issue 21). A fresh install's bitsandbytes (0.50, which diffusers imports for its quantizers) logs "Failed to load
CPU gemm_4bit_forward from kernels-community ..." on CPUs with AVX512-BF16 when the optional `kernels` package is
missing; these tests plant a module that makes that noise (and prints, warns and writes to stderr) on any CPU."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from conftest import run_cli, run_subprocess

NO_HUB = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2"}
BNB_LINE = (
    "Failed to load CPU gemm_4bit_forward from kernels-community: No module named 'kernels'. Please make sure you "
    "already `pip install kernels` and the kernels >= 0.11.1"
)


def noisy_module(folder: Path, name: str) -> Path:
    """A package `name` in `folder` that, when imported, logs a warning the way bitsandbytes does (a module logger,
    no handler configured: Python's last-resort handler prints it), prints to stdout, writes to stderr and warns."""
    package = folder / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            f"""
            import logging, sys, warnings
            logging.getLogger("{name}.backends.cpu.ops").warning({BNB_LINE!r})
            print("{name}: banner on stdout")
            sys.stderr.write("{name}: a line on stderr\\n")
            warnings.warn("{name}: a warning at import", UserWarning)
            """
        )
    )
    return folder


def test_bitsandbytes_noise_on_import_does_not_reach_the_one_line_error(tmp_path):
    """`build --models sdxl` without a hub imports diffusers' quantizers, which import bitsandbytes (here the
    planted one, first on the path): stderr is still the one Error line; -v lets the noise through, which shows
    that the planted module was imported on this path."""
    planted = noisy_module(tmp_path / "site", "bitsandbytes")
    env = {**NO_HUB, "PYTHONPATH": os.pathsep.join([str(planted), os.environ.get("PYTHONPATH", "")])}
    result = run_subprocess("build", "--models", "sdxl", "--out", tmp_path / "x", env=env, timeout=300)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: cannot load model 'sdxl'"), result.stderr
    assert "bitsandbytes" not in result.stdout + result.stderr and "Traceback" not in result.stderr

    loud = run_subprocess("-v", "build", "--models", "sdxl", "--out", tmp_path / "y", env=env, timeout=300)
    assert BNB_LINE in loud.stderr and "bitsandbytes: banner on stdout" in loud.stdout


def test_import_noise_is_dropped_in_process_while_the_commands_own_lines_pass(tmp_path, monkeypatch):
    """A command that imports a noisy dependency midway (planted in the codec registry's file sniffing) prints
    exactly its own line; the filter leaves what the command itself writes alone."""
    from aigi_scd.codec import registry

    monkeypatch.syspath_prepend(str(noisy_module(tmp_path / "site", "noisy_dependency")))
    monkeypatch.delitem(sys.modules, "noisy_dependency", raising=False)
    sniff = registry.sniff

    def sniff_after_importing(data):
        import noisy_dependency  # noqa: F401

        return sniff(data)

    monkeypatch.setattr(registry, "sniff", sniff_after_importing)
    path = tmp_path / "x.misc"
    path.write_bytes(b"not a bitstream")
    result = run_cli("decode", path, "-o", tmp_path / "x.png", check=False)
    assert "noisy_dependency" in sys.modules  # the planted module was imported by the command
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: invalid bitstream at byte 0:"), result.output
