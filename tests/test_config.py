"""Registry files load strictly, and their errors name file, key and what was expected."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from aigi_scd.config import from_mapping, load_yaml, registry_dir
from aigi_scd.errors import ConfigError


@dataclass
class Inner:
    steps: int
    mode: str = "a"


@dataclass
class Outer:
    name: str
    inner: Inner
    ratio: float = 1.0
    tags: list[str] = field(default_factory=list)
    optional: int | None = None


def test_from_mapping_builds_nested_dataclasses():
    obj = from_mapping(Outer, {"name": "x", "inner": {"steps": 3}, "ratio": 2, "tags": ["a"]}, "f.yaml")
    assert obj == Outer(name="x", inner=Inner(steps=3), ratio=2.0, tags=["a"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "inner": {"stepz": 3}}, "f.yaml.inner: unknown key 'stepz' (did you mean 'steps'?)"),
        ({"name": "x", "inner": {"steps": "many"}}, "f.yaml.inner.steps: expected an integer, got 'many'"),
        ({"name": "x"}, "f.yaml: missing required key 'inner'"),
        ({"name": "x", "inner": {"steps": 1}, "tags": "a"}, "f.yaml.tags: expected a list of a string"),
        ({"name": "x", "inner": {"steps": True}}, "expected an integer, got True"),
    ],
)
def test_from_mapping_errors_name_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        from_mapping(Outer, data, "f.yaml")
    assert message in str(info.value)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ncall:\n  steps: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(path) in str(info.value) and "line" in str(info.value)


def test_non_utf8_file_is_reported(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_yaml(path)


def test_registries_exist():
    for kind in ("prompts", "pipelines", "filters", "codec"):
        assert registry_dir(kind).is_dir(), kind
