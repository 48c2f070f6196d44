"""Under CI=true a test skipped for a missing input fails (tests/ci_strict.py), so CI cannot pass with tests off;
elsewhere it stays a skip with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess:
    (folder / "test_needs_input.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    assert True\n\n"
        "def test_needs_kodak():\n    pytest.skip('Kodak images not found at /nowhere')\n\n"
        "@pytest.mark.skipif(True, reason='chromium and chromedriver are not installed')\n"
        "def test_needs_chromium():\n    pass\n\n"
        "@pytest.mark.xfail(reason='known')\n"
        "def test_expected_to_fail():\n    assert False\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "ci_strict", "-p", "no:cacheprovider", "test_needs_input.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skip_for_a_missing_input_fails_under_ci(tmp_path):
    result = run_pytest(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in result.stdout  # a skip in setup (skipif, a fixture) errors
    assert "skipped under CI=true, which counts as a failure: Kodak images not found at /nowhere" in result.stdout
    assert "chromium and chromedriver are not installed" in result.stdout


def test_outside_ci_it_stays_a_skip(tmp_path):
    result = run_pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in result.stdout
