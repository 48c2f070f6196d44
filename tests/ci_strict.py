"""Under CI a test that is off is a failure: with CI=true (as CI runs `.ci/run`), a test skipped because an input is
missing — the Kodak images, chromium and its driver, a mount namespace — fails instead, naming what it lacked, so a
green CI always means every test ran. Elsewhere such tests skip with their reason, as before.

A pytest plugin: conftest.py takes its hook; `python -m pytest -p ci_strict` loads it alone (its own test does).
"""

from __future__ import annotations

import os

import pytest


def strict() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and strict()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true, which counts as a failure: {reason.removeprefix('Skipped: ')} "
        "(.ci/run installs what the tests need; the Kodak images come from shared/data/kodak beside the checkout)"
    )
