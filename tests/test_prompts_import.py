"""Importers on small files in each source's real format, and their bad input (issue 3 acceptance 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from aigi_scd.errors import ConfigError
from aigi_scd.prompts.sources import load_prompts, prompts_jsonl

DATA = REPO / "tests" / "data" / "prompts"


def test_partiprompts_tsv_keeps_category_challenge_and_note():
    ps = load_prompts(str(DATA / "PartiPrompts.tsv"))
    assert ps.kind == "PartiPrompts TSV" and len(ps.prompts) == 5
    first = ps.prompts[0]
    assert (first.text, first.category) == ("bond", "Abstract")
    assert first.extra == {"challenge": "Basic", "note": "Biology-inspired concepts with multiple meanings"}
    assert (first.source.suite, first.source.line) == ("PartiPrompts.tsv", 2)
    graffiti = ps.prompts[2]  # bare double quotes inside a TSV field stay as they are
    assert graffiti.text.startswith("A robot painted as graffiti") and '"Fly an airplane"' in graffiti.text
    assert graffiti.extra["challenge"] == "Complex" and graffiti.category == "Outdoor Scenes"


def test_geneval_metadata_becomes_objects_with_counts_colors_and_positions():
    ps = load_prompts(str(DATA / "evaluation_metadata.jsonl"))
    assert ps.kind == "GenEval JSONL" and len(ps.prompts) == 6
    by_tag = {p.category: p for p in ps.prompts}
    two = by_tag["two_object"]
    assert two.text == "a photo of a cup and a dog"
    assert [(o.name, o.detail) for o in two.objects] == [("cup", "count 1"), ("dog", "count 1")]
    assert [(o.name, o.detail) for o in by_tag["counting"].objects] == [("clock", "count 2")]
    assert by_tag["counting"].extra["exclude"] == [{"class": "clock", "count": 3}]
    assert by_tag["colors"].objects[0].detail == "pink, count 1"
    assert by_tag["position"].objects[1].detail == "count 1, right of teddy bear"
    assert by_tag["position"].extra["include"][1]["position"] == ["right of", 0]  # evaluation metadata kept whole


def test_drawbench_csv_reads_quoted_fields_and_categories():
    ps = load_prompts(str(DATA / "DrawBench.csv"))
    assert ps.kind == "DrawBench CSV"
    texts = {p.text: p.category for p in ps.prompts}
    assert texts['A sign that says "Deep Learning".'] == "Text"
    assert texts["A black apple and a green backpack."] == "Colors"
    assert texts["Acanthophis"] == "Rare Words"
    assert [p.source.line for p in ps.prompts] == [2, 3, 4, 5, 6, 7]


def test_plain_text_is_one_prompt_per_line_skipping_blanks_and_comments():
    ps = load_prompts(str(DATA / "my_prompts.txt"))
    assert [(p.text, p.source.line) for p in ps.prompts] == [
        ("a lighthouse on a cliff at dawn", 2),
        ("a bowl of cherries on a blue table", 4),
        ("an astronaut riding a horse on the moon", 5),
    ]
    assert all(p.category is None and not p.objects for p in ps.prompts)


def test_promptspec_jsonl_keeps_every_field():
    ps = load_prompts(str(DATA / "prompt_specs.jsonl"))
    fox, lighthouse = ps.prompts
    assert (fox.category, fox.style, fox.extra) == ("animals", "photograph", {"scene": "fresh snow"})
    assert [(o.name, o.detail) for o in fox.objects] == [("red fox", "curled up asleep")]
    assert lighthouse.negative == "blurry" and len(lighthouse.objects) == 2


def test_exported_jsonl_reads_back_as_the_same_prompts(tmp_path):
    out = tmp_path / "suite.jsonl"
    run_cli("prompts", "-n", 40, "--seed", 2, "--out", out, "--no-similarity", "--quiet")
    again = load_prompts(str(out)).prompts
    original = load_prompts("aigi-scd", 40, seed=2).prompts
    strip = [{k: v for k, v in p.to_json().items() if k != "source"} for p in original]
    assert [{k: v for k, v in p.to_json().items() if k != "source"} for p in again] == strip
    assert prompts_jsonl(again).count(b"\n") == 40


def test_drawing_n_from_a_file_is_seeded():
    a = load_prompts(str(DATA / "DrawBench.csv"), 3, seed=0).prompts
    assert a == load_prompts(str(DATA / "DrawBench.csv"), 3, seed=0).prompts
    assert len(a) == 3 and {p.id for p in a} != {p.id for p in load_prompts(str(DATA / "DrawBench.csv"), 3, 1).prompts}


# ---- bad input ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


PARTI_BAD = (
    "Prompt\tCategory\tChallenge\tNote\n"
    "a cat\tAnimals\tBasic\t\n"
    "a dog\tAnimals\n"  # two fields short
    "\tAnimals\tBasic\t\n"  # no prompt
    "a cow\tAnimals\tBasic\t\n"
)
GENEVAL_BAD = (
    '{"tag": "single_object", "include": [{"class": "cat", "count": 1}], "prompt": "a photo of a cat"}\n'
    '{"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"\n'
    '{"tag": "counting", "include": [{"count": 2}], "prompt": "a photo of two birds"}\n'
    '{"tag": "single_object", "include": [{"class": "cow", "count": 1}], "prompt": "a photo of a cow"}\n'
)
DRAWBENCH_BAD = 'Prompts,Category\nA red car.,Colors\nA blue car.,Colors,extra\n"",Colors\nA green car.,Colors\n'


@pytest.mark.parametrize(
    ("name", "content", "first_bad", "reason", "kept"),
    [
        ("parti.tsv", PARTI_BAD, 3, "expected 4 fields", ["a cat", "a cow"]),
        ("geneval.jsonl", GENEVAL_BAD, 2, "invalid JSON", ["a photo of a cat", "a photo of a cow"]),
        ("drawbench.csv", DRAWBENCH_BAD, 3, "expected 2 fields", ["A red car.", "A green car."]),
    ],
)
def test_a_malformed_line_names_file_and_line_unless_skipped(tmp_path, name, content, first_bad, reason, kept):
    path = _write(tmp_path, name, content)
    with pytest.raises(ConfigError, match=f"{path}:{first_bad}: {reason}.*--skip-bad-lines"):
        load_prompts(str(path))
    ps = load_prompts(str(path), skip_bad_lines=True)
    assert [p.text for p in ps.prompts] == kept
    assert len(ps.bad_lines) == 2 and ps.bad_lines[0].line == first_bad
    assert "skipped 2 bad line(s)" in "\n".join(ps.summary())


def test_empty_prompts_are_reported(tmp_path):
    path = _write(tmp_path, "parti.tsv", "Prompt\tCategory\tChallenge\tNote\n \tAnimals\tBasic\t\n")
    with pytest.raises(ConfigError, match=r"parti.tsv:2: empty prompt in column 'Prompt'"):
        load_prompts(str(path))
    jsonl = _write(tmp_path, "specs.jsonl", '{"text": "   "}\n')
    with pytest.raises(ConfigError, match=r"specs.jsonl:1: .*'text' must be a non-empty string"):
        load_prompts(str(jsonl))
    blank = _write(tmp_path, "blank.txt", "\n  \n# only a comment\n")
    with pytest.raises(ConfigError, match="blank.txt: the file holds no prompts"):
        load_prompts(str(blank))


def test_non_utf8_input_names_the_line_and_the_byte(tmp_path):
    path = _write(tmp_path, "latin1.txt", b"a cat\n" + "un café au lait\n".encode("latin-1") + b"a dog\n")
    with pytest.raises(ConfigError, match=r"latin1.txt:2: not UTF-8 text \(byte 0xE9 at column 7\); save the file"):
        load_prompts(str(path))
    ps = load_prompts(str(path), skip_bad_lines=True)
    assert [p.text for p in ps.prompts] == ["a cat", "a dog"] and [p.source.line for p in ps.prompts] == [1, 3]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = _write(tmp_path, "excel.csv", b"\xef\xbb\xbfPrompts,Category\nA red car.,Colors\n")
    assert load_prompts(str(path)).prompts[0].category == "Colors"


def test_a_table_without_a_prompt_column_says_which_columns_it_needs(tmp_path):
    path = _write(tmp_path, "x.csv", "Sentence,Kind\nA red car.,Colors\n")
    with pytest.raises(ConfigError, match=r"x.csv:1: no prompt column in the header \(Sentence, Kind\).*Prompts"):
        load_prompts(str(path))


def test_missing_file_and_unknown_suite_name_the_path_and_the_suites(tmp_path):
    missing = tmp_path / "nope.tsv"
    with pytest.raises(ConfigError, match=f"prompt file not found: {missing}.*registry suites: aigi-scd, starter"):
        load_prompts(str(missing))
    with pytest.raises(ConfigError, match=r"unknown prompt suite 'aigi-scdd' \(did you mean 'aigi-scd'\?\).*starter"):
        load_prompts("aigi-scdd")
    odd = _write(tmp_path, "prompts.xlsx", b"PK")
    with pytest.raises(ConfigError, match=r"unknown prompt file type '.xlsx'; use .tsv"):
        load_prompts(str(odd))


def test_cli_prints_the_error_on_one_line_and_skip_bad_lines_reports(tmp_path):
    path = _write(tmp_path, "parti.tsv", PARTI_BAD)
    failed = run_cli("prompts", "--suite", path, "--no-similarity", check=False)
    assert failed.exit_code == 1 and f"{path}:3: expected 4 fields" in failed.output
    assert "Traceback" not in failed.output
    ok = run_cli("prompts", "--suite", path, "--no-similarity", "--skip-bad-lines", "--out", tmp_path / "o.jsonl")
    assert "prompts: 2 from" in ok.output and "skipped 2 bad line(s)" in ok.output
    assert [json.loads(x)["text"] for x in (tmp_path / "o.jsonl").read_text().splitlines()] == ["a cat", "a cow"]


def test_an_unclosed_csv_quote_is_reported_where_it_opens(tmp_path):
    path = _write(tmp_path, "db.csv", 'Prompts,Category\nA car.,Colors\n"A bus.,Colors\nA van.,Colors\n')
    with pytest.raises(ConfigError, match=r"db.csv:3: malformed CSV row: .*quote opened here is never closed"):
        load_prompts(str(path))
    assert [p.text for p in load_prompts(str(path), skip_bad_lines=True).prompts] == ["A car."]
