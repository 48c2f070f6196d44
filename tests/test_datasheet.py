"""The top-level DATASHEET.md (issue 13 acceptance 3): the seven sections of "Datasheets for Datasets", and every
number in it true to the recipe's registry files (model cards, prompt generator, filter preset) and CLI defaults."""

from __future__ import annotations

import re
from collections import Counter

import yaml
from conftest import REPO
from numbers_check import NUMBER, parse_markdown

from aigi_scd.cli import cli
from aigi_scd.prompts.sources import load_prompts

SECTIONS = [
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing, cleaning and labelling",
    "Uses",
    "Distribution",
    "Maintenance",
]
RECIPE_MODELS = ["sdxl", "pixart"]


def card(name: str) -> dict:
    return yaml.safe_load((REPO / "pipelines" / f"{name}.yaml").read_text())


def text() -> str:
    return (REPO / "DATASHEET.md").read_text()


def table(*headers: str) -> list[list[str]]:
    """The rows of the one table whose headers are `headers`."""
    (rows,) = [rows for _, found, rows in parse_markdown(text()).tables if found == list(headers)]
    return rows


def test_it_covers_the_seven_sections_in_order():
    assert re.findall(r"^## \d+\. (.+)$", text(), re.M) == SECTIONS
    assert [int(n) for n in re.findall(r"^## (\d+)\. ", text(), re.M)] == list(range(1, 8))
    for body in re.split(r"^## \d+\. .+$", text(), flags=re.M)[1:]:
        assert len(body.split()) > 40  # each section says something


def test_the_recipe_is_the_readme_and_cli_defaults():
    block = parse_markdown(text()).code[0]
    build, compress = block
    assert build == f"aigi-scd build --models {','.join(RECIPE_MODELS)} --num-prompts 1000 --seed 0 --out out/aigi-scd"
    assert compress == "aigi-scd compress out/aigi-scd"
    assert f"--models {','.join(RECIPE_MODELS)}" in (REPO / "README.md").read_text()


def test_model_table_matches_the_cards():
    settings = table("model", "repo", "pipeline", "steps", "guidance", "size", "dtype", "licence")
    assert [r[0] for r in settings] == RECIPE_MODELS
    for name, repo, pipeline, steps, guidance, size, dtype, licence in settings:
        c = card(name)
        call = c["call"]
        assert (repo, pipeline, dtype, licence) == (f"`{c['repo']}`", c["pipeline"], c["dtype"], c["license"])
        assert (steps, guidance, size) == (
            str(call["steps"]),
            f"{call['guidance']:g}",
            f"{call['width']}×{call['height']}",
        )


def test_licence_table_lists_every_real_card():
    licences = table("model", "repo", "licence")
    real = sorted(p.stem for p in (REPO / "pipelines").glob("*.yaml") if not card(p.stem)["repo"].startswith("tiny:"))
    assert [r[0] for r in licences] == real
    for name, repo, licence in licences:
        assert (repo, licence) == (f"`{card(name)['repo']}`", card(name)["license"])


def test_prompt_tables_are_the_generated_prompts():
    prompts = load_prompts("aigi-scd", 1000, 0, progress=False).prompts
    assert {r[0]: int(r[1]) for r in table("category", "prompts")} == Counter(p.category for p in prompts)
    assert {r[0]: int(r[1]) for r in table("style", "prompts")} == Counter(p.style for p in prompts)
    objects = {int(r[0]): int(r[1]) for r in table("salient objects", "prompts")}
    assert objects == Counter(len(p.objects) for p in prompts)
    suite = yaml.safe_load((REPO / "prompts" / "aigi-scd.yaml").read_text())
    assert suite["default_count"] == len(prompts) == 1000


def test_filter_table_is_the_default_preset():
    steps = yaml.safe_load((REPO / "filters" / "default.yaml").read_text())["filters"]
    rows = table("filter", "threshold", "rejects")
    names = [s.get("name") or s.get("metric") or s["type"] for s in steps]
    assert [r[0] for r in rows] == names
    for (name, bound, _), step in zip(rows, steps, strict=True):
        bounds = {k: v for k, v in step.items() if re.match(r"threshold|min_|max_", k) and v is not None}
        shown = dict(part.rsplit(" ", 1) for part in bound.split(", ")) if bound != "–" else {}
        assert {k: float(v) for k, v in shown.items()} == {k: float(v) for k, v in bounds.items()}, name


def test_no_other_number_in_the_prose():
    """Prose numbers are the recipe's: the prompt count, images generated, the seed, the compress targets."""
    page = parse_markdown(text())
    prose = "\n".join(page.lines)
    targets = next(p for p in cli.commands["compress"].params if p.name == "bpp_spec").default.split(",")
    codecs = next(p for p in cli.commands["compress"].params if p.name == "codecs_spec").default.split(",")
    checks = {
        r"\b(1000) prompts, one image per prompt and model: (2000) images generated": ("1000", str(1000 * 2)),
        r"with seed (0)": ("0",),
        r"every target \((\d\.\d+), (\d\.\d+) and (\d\.\d+) bpp by default\)": tuple(targets),
        r"`aigi-scd prompts --suite aigi-scd -n (1000) --seed (0)`": ("1000", "0"),
    }
    for pattern, expected in checks.items():
        match = re.search(pattern, prose)
        assert match and match.groups() == expected, pattern
        prose = prose.replace(match.group(0), "")
    assert re.findall(r"`(\w[\w-]*)`", re.search(r"every codec \(([^)]*)\)", prose).group(1)) == codecs
    assert "under Apache-2.0" in prose and 'license = "Apache-2.0"' in (REPO / "pyproject.toml").read_text()
    prose = re.sub(r"`[^`]*`", "", prose.replace("Apache-2.0", "").replace("PixArt-Σ", "").replace("T5", ""))
    prose = re.sub(r"^## \d+\. ", "", prose, flags=re.M)
    assert NUMBER.findall(prose) == []
