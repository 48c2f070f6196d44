"""Seconds each test file took, for the order in which pytest-xdist hands files to its workers.

With ``--dist loadfile`` each file runs whole on one worker, and the files are handed out in order; when a
long file is handed out last, one worker runs it alone while the other idles. conftest.py puts the longest
files first (longest-processing-time first), from ``file_durations.json`` beside this script. Refresh it
after a change that moves a file's time much:

    python -m pytest -q -n 2 --dist loadfile --junitxml=/tmp/junit.xml && python tests/file_durations.py /tmp/junit.xml
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

DURATIONS = Path(__file__).with_name("file_durations.json")


def load() -> dict[str, float]:
    """File name → seconds (empty when the file is missing or unreadable: the order is then pytest's)."""
    try:
        return {str(k): float(v) for k, v in json.loads(DURATIONS.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def from_junit(path: Path) -> dict[str, float]:
    """Per-file seconds (setup, call and teardown of every test) from a pytest --junitxml report."""
    seconds: dict[str, float] = defaultdict(float)
    for case in ET.parse(path).iter("testcase"):
        parts = case.get("classname", "").split(".")  # tests.test_build[.TestClass]
        module = next((part for part in parts if part.startswith("test_")), parts[-1])
        seconds[f"{module}.py"] += float(case.get("time", 0))
    return {name: round(s, 1) for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/file_durations.py JUNIT_XML")
    DURATIONS.write_text(json.dumps(from_junit(Path(sys.argv[1])), indent=1) + "\n")
    print(f"wrote {DURATIONS}")
