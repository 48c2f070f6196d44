"""README's two opening commands and .ci/run stay true to each other."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_install_and_run_then_install_and_test():
    build, tests = readme_commands()[:2]
    assert "pip install -e ." in build and "aigi-scd build --models tiny-sdxl,tiny-pixart" in build
    assert "pip install -e '.[test]'" in tests and "pytest" in tests and tests.endswith("# the tests")


def test_ci_runs_the_readme_test_line():
    script = REPO / ".ci" / "run"
    assert script.stat().st_mode & 0o111, ".ci/run must be executable"
    found = subprocess.run(
        ["bash", "-c", "grep -m1 -E '# the tests$' README.md"], cwd=REPO, capture_output=True, text=True
    )
    assert found.stdout.strip() == readme_commands()[1]


def test_ci_installs_the_browser_itself_then_runs_the_readme_line():
    script = (REPO / ".ci" / "run").read_text()
    update = script.index("apt-get update")
    install = script.index("apt-get install -y -q chromium chromium-driver")
    run = script.index('exec bash -euo pipefail -c "$line"')
    assert update < install < run  # apt's lists first, then the packages, then the tests
    result = subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ci_fails_when_chromium_cannot_be_installed_and_runs_the_tests_under_ci_true(tmp_path):
    """A PATH with no chromium and an apt-get that fails: .ci/run stops with exit 1 before the tests (it went on
    before, and the browser test was skipped); and it exports CI=true, which makes such skips failures."""
    import os
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "dirname", "grep", "cat"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    apt = bin_dir / "apt-get"
    apt.write_text("#!/bin/sh\necho 'E: Unable to locate package chromium' >&2\nexit 100\n")
    apt.chmod(0o755)
    bash = shutil.which("bash")
    result = subprocess.run(
        [bash, str(REPO / ".ci" / "run")], env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not install chromium, chromium-driver and libjxl-tools" in result.stderr
    assert "# the tests" not in result.stdout  # the test line never ran
    assert "export CI=true" in (REPO / ".ci" / "run").read_text()


def test_ci_installs_the_programs_behind_the_command_codec_tests_and_compressai():
    script = (REPO / ".ci" / "run").read_text()
    assert "apt-get install -y -q chromium chromium-driver libjxl-tools" in script
    assert "command -v cjxl && command -v djxl" in script
    assert "pip install --no-deps compressai==" in readme_commands()[1]
