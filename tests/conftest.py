"""Shared fixtures: hermetic caches, the CLI, and one tiny offline build reused by many tests."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ci_strict import pytest_runtest_makereport  # noqa: F401  (CI=true: a skipped test fails)

# Hermetic caches, set before any library reads them: tiny pipelines are built fresh for the session
# (proving the offline builders work on a clean machine) and datasets' Arrow cache stays out of $HOME.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="aigi-scd-tests-"))
atexit.register(shutil.rmtree, _SESSION_TMP, ignore_errors=True)  # each test process removes its own caches
os.environ["AIGI_SCD_CACHE"] = str(_SESSION_TMP / "cache")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_TMP / "hf-datasets")
os.environ["TORCH_HOME"] = str(_SESSION_TMP / "torch")  # pyiqa/torchvision weights: none cached, none downloaded
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO = Path(__file__).resolve().parents[1]
# The shared folder beside the checkout (Kodak images); AIGI_SCD_SHARED points elsewhere when the clone lives apart.
SHARED = Path(os.environ.get("AIGI_SCD_SHARED") or REPO.parent / "shared")
TINY_MODELS = "tiny-sdxl,tiny-pixart"


def run_cli(*args: str, check: bool = True):
    """Invoke the click CLI in-process (fast); returns click's Result."""
    from click.testing import CliRunner

    from aigi_scd.cli import cli

    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if check and result.exit_code != 0:
        raise AssertionError(f"aigi-scd {' '.join(map(str, args))} failed ({result.exit_code}):\n{result.output}")
    return result


def run_subprocess(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m aigi_scd ARGS` as a separate process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "aigi_scd", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def kodak_dir() -> Path:
    path = SHARED / "data" / "kodak"
    if not path.is_dir():
        pytest.skip(f"Kodak images not found at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Path:
    """`aigi-scd build --models tiny-sdxl,tiny-pixart --num-prompts 6 --seed 0`, run once per session."""
    out = tmp_path_factory.mktemp("tiny-build") / "out"
    run_cli("build", "--models", TINY_MODELS, "--num-prompts", 6, "--seed", 0, "--out", out, "--quiet")
    return out


# A build that is quick to kill and rerun: one tiny model, three prompts, one image per shard.
KILLABLE = ["build", "--models", "tiny-sdxl", "--num-prompts", 3, "--seed", 4, "--shard-size", 1, "--batch-size", 1]


@pytest.fixture(scope="session")
def killable_build(tmp_path_factory) -> tuple[Path, float]:
    """KILLABLE built once, uninterrupted, in a forked process: (its folder, the seconds from the appearance of
    its build.json to its end). The reference of the fault-injection and soak tests."""
    from forked_cli import timed_run

    out = tmp_path_factory.mktemp("killable") / "out"
    seconds = timed_run([*KILLABLE, "--out", out, "--quiet"], out.parent / "build.log", out / "build.json")
    return out, seconds


COMPRESS_CODECS = "misc-offline,thumb-avif,avif,webp,jpeg"
# The compressed tiny build: the bundled codec, the thumbnail anchor and two full-resolution baselines (avif, the
# slowest to search for a rate, is measured on the natural set).
AIGI_CODECS = "misc-offline,thumb-avif,webp,jpeg"


@pytest.fixture(scope="session")
def crops(tmp_path_factory) -> Path:
    """Three 192×176 crops of Kodak images: a small natural set."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("kodak-crops") / "kodak3"
    folder.mkdir()
    for name in ("kodim01", "kodim05", "kodim23"):
        Image.open(kodak_dir() / f"{name}.png").convert("RGB").crop((200, 150, 392, 326)).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="session")
def natural(crops, tmp_path_factory):
    """`aigi-scd compress --images CROPS --out OUT` with every offline codec at 0.1 and 0.5 bpp: (out, args, output)."""
    out = tmp_path_factory.mktemp("compress-natural") / "out"
    args = ["compress", "--images", crops, "--out", out, "--codecs", COMPRESS_CODECS, "--metrics", "offline"]
    args += ["--quiet", "--bpp", "0.1,0.5"]
    first = run_cli(*args)
    return out, args, first.output


@pytest.fixture(scope="session")
def aigi(tiny_build, tmp_path_factory):
    """`aigi-scd compress BUILD` on a copy of the tiny build, AIGI_CODECS at 0.3 and 1 bpp: (out, args, output)."""
    import shutil

    out = tmp_path_factory.mktemp("compress-aigi") / "build"
    shutil.copytree(tiny_build, out)  # the session build stays as other tests expect it
    args = ["compress", out, "--codecs", AIGI_CODECS, "--metrics", "offline", "--quiet", "--bpp", "0.3,1"]
    first = run_cli(*args)
    return out, args, first.output


@pytest.fixture(scope="session")
def carded(aigi, tmp_path_factory) -> tuple[Path, str]:
    """A copy of the compressed tiny build with every page and picture deleted, then `aigi-scd card` on it:
    (folder, output)."""
    import shutil

    out = tmp_path_factory.mktemp("carded") / "build"
    shutil.copytree(aigi[0], out)
    for name in ("README.md", "DATASHEET.md", "benchmark/report.html", "benchmark/summary.md"):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "pictures", ignore_errors=True)
    for plot in (out / "benchmark").glob("rd_*.png"):
        plot.unlink()
    result = run_cli("card", out)
    return out, result.output


def pytest_configure(config) -> None:
    """Under pytest-xdist's --dist loadfile, hand files out in the order pytest_collection_modifyitems gives them
    (xdist would otherwise order them by their number of tests, which puts the long one-test files last)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items) -> None:
    """Longest files first (tests/file_durations.json; unknown files count as long), each file's tests in their
    own order: the two workers then finish together instead of one running the last long file alone."""
    from file_durations import load

    seconds = load()
    if seconds:
        longest = max(seconds.values())
        items.sort(key=lambda item: -seconds.get(item.path.name, longest))
