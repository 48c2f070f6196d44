"""Every number a reader sees in a build's README.md, DATASHEET.md and benchmark/report.html, checked against an
independent reading of the folder: the shards and their stats (tarfile + json), build.json and compress.json, and
results.parquet (pandas + scipy). Nothing here calls the product's card, datasheet or report code.

Each checker consumes what it has checked; whatever text is left at the end must hold no number at all, so a number
added to a page without a check here fails the test.

Long because it holds one independent recomputation per kind of table and page (settings, counts, breakdowns,
filters, versions, benchmark summary, prose, front matter, report): they share the facts and the number matching.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from scipy import stats

from aigi_scd.bench.results import MIN_CI_IMAGES
from aigi_scd.bench.tables import ORACLE_MARK, SEMANTIC_HEADERS, UNVERIFIED_MARK

NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)*")
BOUND = re.compile(r"^(threshold|min_\w+|max_\w+)$")
# Method constants the summary note states: the CI level, the smallest side pyiqa's ms_ssim accepts, and the
# similarity at which semantic fidelity pairs two object names (bench/semantic_fidelity.py).
NOTE_CONSTANTS = {
    "95% CI": "95",
    "161 pixels": "161",
    "similarity ≥ 0.7": "0.7",
    f"fewer than {MIN_CI_IMAGES} images": str(MIN_CI_IMAGES),
}
PLOT_CONSTANTS = {"95% CI": "95", f"at least {MIN_CI_IMAGES} images": str(MIN_CI_IMAGES)}
# The definition of bpp, in the compressed sets' description.
TEXT_CONSTANTS = {**NOTE_CONSTANTS, "bpp = 8 × bytes": "8"}


def close(printed: str, value: float) -> bool:
    """`printed` is `value` at the precision it was printed with."""
    printed = printed.strip().rstrip("%")
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - value) <= 0.5 * 10**-decimals + 1e-9 * max(1.0, abs(value))


def mean_ci(values: pd.Series) -> tuple[float, float]:
    data = values.dropna().to_numpy(dtype=float)
    if len(data) == 0:
        return math.nan, math.nan
    if len(data) < MIN_CI_IMAGES:  # too few for an interval (the summary draws none)
        return float(data.mean()), math.nan
    if stats.sem(data) == 0:  # every value equal (say, a recall of 0 on every image): no spread, a CI of ± 0
        return float(data.mean()), 0.0
    low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    return float(data.mean()), float((high - low) / 2)


def _records(tar: Path) -> list[dict]:
    with tarfile.open(tar) as handle:
        return [json.loads(handle.extractfile(m).read()) for m in handle.getmembers() if m.name.endswith(".json")]


@dataclass
class SourceFacts:
    stats: list[dict]
    kept: list[dict]
    rejected: list[dict]
    tar_bytes: int

    @property
    def samples(self) -> list[dict]:
        return self.kept + self.rejected


@dataclass
class Facts:
    out: Path
    manifest: dict
    sources: dict[str, SourceFacts]
    configs: list[str]
    compress: dict
    results: pd.DataFrame | None
    metrics: list[str] = field(default_factory=list)  # per-image metrics, as the compress units list them

    @property
    def steps(self) -> dict[str, dict]:
        return {s["name"]: s for s in self.manifest["config"]["filters"]["steps"]}

    def commands(self) -> list[str]:
        found = [self.manifest["command"], *self.manifest.get("filter_commands", [])]
        return found + ([self.compress["command"]] if self.compress.get("command") else [])


def read_facts(out: Path) -> Facts:
    manifest = json.loads((out / "build.json").read_text()) if (out / "build.json").is_file() else {"models": []}
    sources = {}
    for folder in sorted((out / "data").iterdir()) if (out / "data").is_dir() else []:
        tars = sorted(folder.glob("train-*.tar"))
        rejects = sorted((out / "rejects" / folder.name).glob("rejects-*.tar"))
        sources[folder.name] = SourceFacts(
            [json.loads(p.read_text()) for p in sorted(folder.glob("*.stats.json"))],
            [r for t in tars for r in _records(t)],
            [r for t in rejects for r in _records(t)],
            sum(t.stat().st_size for t in tars),
        )
    order = [m for m in manifest["models"] if m in sources] + sorted(set(sources) - set(manifest["models"]))
    sources = {name: sources[name] for name in order}
    compressed = out / "compressed"
    configs = sorted(p.name for p in compressed.iterdir() if any(p.glob("*.tar"))) if compressed.is_dir() else []
    compress = json.loads((out / "compress.json").read_text()) if (out / "compress.json").is_file() else {}
    parquet = out / "benchmark" / "results.parquet"
    metrics: list[str] = []
    for path in sorted(compressed.glob("*/*.stats.json")) if compressed.is_dir() else []:
        metrics += [m for m in json.loads(path.read_text())["metrics"] if m not in metrics]
    results = pd.read_parquet(parquet) if parquet.is_file() else None
    return Facts(out, manifest, sources, configs, compress, results, metrics)


# ---- tables ---------------------------------------------------------------------------------------------------


def distinct(values, show=str) -> str:
    found = sorted({v for v in values if v is not None}, key=lambda v: (str(type(v)), v))
    return ", ".join(show(v) for v in found) or "–"


def size_of(record: dict) -> str | None:
    return f"{record['width']}×{record['height']}" if record.get("width") and record.get("height") else None


def check_settings(facts: Facts, rows: list[list[str]]) -> None:
    assert [r[0] for r in rows] == list(facts.sources)
    for row in rows:
        source = facts.sources[row[0]]
        samples = source.samples
        card = facts.manifest["cards"].get(row[0], {})
        licences = list(dict.fromkeys(s["card"]["license"] for s in source.kept if s["card"]["license"]))
        expected = [
            row[0],
            row[1],  # the repo, checked below
            ", ".join(sorted(licences)) if licences else "not recorded",
            distinct(s["card"]["pipeline_class"] for s in samples),
            distinct(s["card"]["scheduler_class"] for s in samples),
            distinct(s["generation"]["steps"] for s in samples),
            distinct([s["generation"]["guidance"] for s in samples], lambda g: f"{g:g}"),
            distinct(size_of(s) for s in samples),
            distinct(s["generation"]["dtype"] for s in samples),
            distinct(s["generation"]["device"] for s in samples),
        ]
        assert row == expected, (row, expected)
        assert f"`{card['repo']}`" in row[1] if card.get("repo") else row[1] == "–"


def check_counts(facts: Facts, rows: list[list[str]]) -> None:
    assert [r[0] for r in rows] == list(facts.sources)
    for name, generated, kept, rejected, share, prompts, truncated, speed in rows:
        source = facts.sources[name]
        planned = sum(s["planned"] for s in source.stats)
        assert planned == len(source.kept) + len(source.rejected)  # the stats agree with the tars
        assert (int(generated), int(kept), int(rejected)) == (planned, len(source.kept), len(source.rejected))
        assert close(share, 100 * len(source.kept) / planned)
        assert int(prompts) == len({s["prompt"]["id"] for s in source.kept})
        assert int(truncated) == sum(1 for s in source.samples if s["generation"]["prompt_truncated"])
        assert close(speed, planned / sum(s["generation_seconds"] for s in source.stats))


def check_breakdown(facts: Facts, headers: list[str], rows: list[list[str]]) -> None:
    label = headers[0]

    def value(record: dict) -> str:
        found = size_of(record) if label == "size" else record["prompt"][label]
        return found or "(none)"

    counts = {name: Counter(value(r) for r in s.kept) for name, s in facts.sources.items()}
    total = sum(counts.values(), Counter())
    assert headers == [label, *facts.sources, "all"]
    assert [r[0] for r in rows] == sorted(total)
    for row in rows:
        assert [int(c) for c in row[1:]] == [*(counts[n][row[0]] for n in facts.sources), total[row[0]]], row


def check_filters(facts: Facts, rows: list[list[str]]) -> None:
    steps = facts.steps
    seen = set()
    for name, filt, bound, checked, passed, rejected, rate, low, middle, high in rows:
        source = facts.sources[name]
        seen.add((name, filt))
        step = steps[filt]
        bounds = {k: float(v) for k, v in step.items() if BOUND.match(k) and isinstance(v, (int, float))}
        shown = dict(part.rsplit(" ", 1) for part in bound.split(", ")) if bound != "–" else {}
        assert set(shown) == set(bounds) and all(close(shown[k], bounds[k]) for k in bounds), (filt, bound)
        results = [f for s in source.samples for f in s["filters"] if f["name"] == filt]
        assert int(checked) == len(results) and int(passed) == sum(f["passed"] for f in results), (name, filt)
        reasons = [s["reason"] for s in source.rejected]
        assert int(rejected) == sum(1 for r in reasons if r and r.startswith(f"{filt}:")), (name, filt)
        assert close(rate, 100 * int(passed) / int(checked))
        scores = [f["score"] for f in results if isinstance(f["score"], (int, float))]
        if scores:
            for printed, value in ((low, min(scores)), (middle, statistics.median(scores)), (high, max(scores))):
                assert close(printed, value), (name, filt, printed, value)
        else:
            assert (low, middle, high) == ("–", "–", "–")
    every = {(n, f["name"]) for n, s in facts.sources.items() for r in s.samples for f in r["filters"]}
    assert every <= seen


def check_versions(facts: Facts, rows: list[list[str]]) -> None:
    counts = Counter(pair for s in facts.sources.values() for r in s.kept for pair in r["versions"].items())
    assert [(lib, version.strip("`"), int(n)) for lib, version, n in rows] == sorted(
        (lib, version, n) for (lib, version), n in counts.items()
    )


SUMMARY_TITLE = re.compile(r"^(?P<source>[\w.-]+) \((?P<kind>AIGI|natural), (?P<images>\d+) images\)$")


N_SCORED = re.compile(r" \(n=(\d+)\)$")


def check_cell(cell: str, values: pd.Series, of: int, what) -> None:
    """A `mean ± half (n=K)` cell against the values it summarises (K shown when fewer than `of` are scores)."""
    mean, half = mean_ci(values)
    if math.isnan(mean):
        assert cell == "–", (what, cell)
        return
    scored = int(values.notna().sum())
    n = N_SCORED.search(cell)
    assert (int(n[1]) if n else of) == scored, (what, cell, scored)
    parts = N_SCORED.sub("", cell).split(" ± ")
    assert close(parts[0], mean), (what, cell, mean)
    if math.isnan(half):
        assert len(parts) == 1, cell
    else:
        assert len(parts) == 2 and close(parts[1], half), (what, cell, half)


COMMON_TITLE = re.compile(r"^(?P<source>[\w.-]+) \((?P<kind>AIGI|natural)\): over the images every codec reached$")


def check_common(facts: Facts, title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A set's means over the images every codec of it reached at each target."""
    match = COMMON_TITLE.match(title.strip())
    assert match, title
    source = match["source"]
    frame = facts.results
    mine = frame[frame["source_kind"] == "aigi"] if source == "all-aigi" else frame[frame["source"] == source]
    assert headers[:4] == ["codec", "target bpp", "images", "bpp"]
    metrics = [h.rsplit(" ", 1)[0] for h in headers[4:]]
    for row in rows:
        target = float(row[1])
        at = mine[mine["target_bpp"] == target]
        reached = [
            set(zip(g.loc[g["status"] == "ok", "source"], g.loc[g["status"] == "ok", "key"], strict=True))
            for _, g in at.groupby("codec")
        ]
        shared = set.intersection(*reached) if reached else set()
        if not shared:
            assert row[0] == "every codec" and row[2].startswith("0: ") and set(row[3:]) == {"–"}, row
            continue
        codec = row[0].removesuffix(UNVERIFIED_MARK).removesuffix(ORACLE_MARK)
        sub = at[(at["codec"] == codec) & (at["status"] == "ok")]
        mask = [(s, k) in shared for s, k in zip(sub["source"], sub["key"], strict=True)]
        both = sub[pd.Series(mask, index=sub.index, dtype=bool)]
        assert row[2] == f"{len(shared)} of {len(at[at['codec'] == codec])}", row
        assert close(row[3], both["bpp"].mean())
        for metric, cell in zip(metrics, row[4:], strict=True):
            check_cell(cell, both[metric], len(both), (source, codec, target, metric))


def check_summary(facts: Facts, title: str, headers: list[str], rows: list[list[str]]) -> None:
    if headers[2:4] == ["images", "bpp"]:
        check_common(facts, title, headers, rows)
        return
    frame = facts.results
    match = SUMMARY_TITLE.match(title.strip())
    assert match, title
    source = match["source"]
    mine = frame[frame["source_kind"] == "aigi"] if source == "all-aigi" else frame[frame["source"] == source]
    assert int(match["images"]) == mine[["source", "key"]].drop_duplicates().shape[0]
    column_of = {header: column for column, header in SEMANTIC_HEADERS.items()}  # e.g. "object recall ↑"
    from aigi_scd.bench.metrics import LABELS, metric_info

    column_of.update({f"{label} {metric_info(m).arrow}": m for m, label in LABELS.items()})  # "ms_ssim (RGB) ↑"
    metrics = [column_of.get(h, h.rsplit(" ", 1)[0]) for h in headers[5:-2]]
    rows = [[r[0].removesuffix(UNVERIFIED_MARK).removesuffix(ORACLE_MARK), *r[1:]] for r in rows]
    assert headers[:5] == ["codec", "target bpp", "bpp", "reached", "fixed B"] and headers[-2:] == ["enc s", "dec s"]
    assert {(r[0], float(r[1])) for r in rows} == set(zip(mine["codec"], mine["target_bpp"], strict=True))
    for row in rows:
        sub = mine[(mine["codec"] == row[0]) & (mine["target_bpp"] == float(row[1]))]
        ok = sub[sub["status"] == "ok"]
        reached = f"{len(ok)}/{len(sub)}"
        unreachable = sub.loc[sub["status"] == "unreachable", "min_bpp"].dropna()
        if len(ok) < len(sub) and len(unreachable):
            assert row[3].startswith(reached + " (min ") and close(row[3][len(reached) + 6 : -1], unreachable.mean())
        else:
            assert row[3] == reached
        if ok.empty:
            assert row[2] == "unreachable" and set(row[4:]) == {"–"}
            continue
        assert close(row[2], ok["bpp"].mean())
        fixed = pd.to_numeric(ok["fixed_bytes"], errors="coerce").dropna()
        assert row[4] == ("–" if fixed.empty else f"{fixed.mean():.0f}"), (row[:2], row[4])
        for metric, cell in zip(metrics, row[5:-2], strict=True):
            check_cell(cell, ok[metric], len(ok), (row[:2], metric))
        assert close(row[-2], ok["encode_seconds"].mean()) and close(row[-1], ok["decode_seconds"].mean())


# ---- markdown ---------------------------------------------------------------------------------------------------


@dataclass
class Markdown:
    """A page split into what the checks consume: tables (with the heading above them), code blocks, other lines."""

    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    code: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    front: dict | None = None


def parse_markdown(text: str) -> Markdown:
    page = Markdown()
    if text.startswith("---\n"):
        _, front, text = text.split("---\n", 2)
        page.front = yaml.safe_load(front)
    heading, block, table = "", None, None
    for line in text.splitlines():
        if block is not None:
            if line.startswith("```"):
                page.code.append(block)
                block = None
            else:
                block.append(line)
            continue
        if line.startswith("```"):
            block = []
            continue
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if table is None:
                table = (heading, cells, [])
                page.tables.append(table)
            elif not set("".join(cells)) <= set("-"):
                table[2].append(cells)
            continue
        table = None
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        page.lines.append(line)
    return page


def check_tables(facts: Facts, page: Markdown) -> set[str]:
    kinds = set()
    for heading, headers, rows in page.tables:
        if headers[:2] == ["source", "repo"]:
            check_settings(facts, rows)
            kinds.add("settings")
        elif headers[:2] == ["source", "generated"]:
            check_counts(facts, rows)
            kinds.add("counts")
        elif headers[0] in ("category", "style", "size"):
            check_breakdown(facts, headers, rows)
            kinds.add(headers[0])
        elif headers[:2] == ["source", "filter"]:
            check_filters(facts, rows)
            kinds.add("filters")
        elif headers == ["library", "version", "images"]:
            check_versions(facts, rows)
            kinds.add("versions")
        elif headers[:2] == ["codec", "target bpp"]:
            check_summary(facts, heading, headers, rows)
            kinds.add("summary")
        else:
            raise AssertionError(f"a table this test does not check: {headers}")
    return kinds


def _consume(text: str, pattern: str, *expected) -> str:
    """Check every match of `pattern` against `expected` (a value, or a callable of the group) and remove it."""

    def check(match: re.Match) -> str:
        for group, want in zip(match.groups(), expected, strict=True):
            assert want(group) if callable(want) else group == str(want), (match.group(0), want)
        return ""

    return re.sub(pattern, check, text)


def check_prose(facts: Facts, page: Markdown) -> None:
    config = facts.manifest["config"]
    kept = sum(len(s.kept) for s in facts.sources.values())
    generated = sum(len(s.samples) for s in facts.sources.values())
    version = facts.manifest["aigi_scd"]
    text = "\n".join(page.lines)
    text = re.sub(r"!\[[^\]]*\]\(([^)]+)\)", lambda m: _exists(facts.out / m.group(1)), text)  # pictures
    text = re.sub(r"\]\([^)]+\)", "]", text)  # link targets
    text = _consume(
        text, r"(\d+) images kept of (\d+) generated by (\d+) source\(s\)", kept, generated, len(facts.sources)
    )
    text = _consume(
        text,
        r"from (\d+) prompts of prompt suite `[^`]+`, (\d+) image\(s\) per prompt, build seed (\d+)",
        len(config["prompt_ids"]),
        config["images_per_prompt"],
        config["seed"],
    )
    text = _consume(text, r"made with aigi-scd (\d+(?:\.\d+)*)", version)
    text = _consume(text, r"\(version (\d+(?:\.\d+)*)\)", version)
    text = _consume(text, r"\*\*Prompts\.\*\* (\d+) prompts", len(config["prompt_ids"]))
    text = _consume(text, r"drawn with build seed (\d+)", config["seed"])
    text = _consume(text, r"\*\*Seeds\.\*\* (\d+) image\(s\) per prompt", config["images_per_prompt"])
    text = _consume(text, r"holds (\d+) compressed set\(s\)", len(facts.configs))
    sections = re.findall(r"^## (\d+)\. ", text, re.M)
    assert sections in ([], [str(n) for n in range(1, 8)]), sections  # the datasheet's seven, in order
    text = re.sub(r"^## \d+\. ", "## ", text, flags=re.M)
    steps = facts.steps
    for name, settings in re.findall(r"^- `([\w-]+)(?: \(\w+\))?`: (.+)$", text, re.M):
        if name in facts.sources:  # the datasheet's licence list
            licences = sorted({r["card"]["license"] for r in facts.sources[name].kept if r["card"]["license"]})
            assert re.findall(r"`([^`]+)`", settings) == licences or (not licences and settings == "not recorded")
            continue
        for key, value in (part.split("=", 1) for part in settings.split(", ")):
            assert str(steps[name][key]) == value, (name, key, value)
    text = re.sub(r"^- `[\w-]+(?: \(\w+\))?`: .+$", "", text, flags=re.M)
    summaries = {heading for heading, headers, _ in page.tables if headers[:2] == ["codec", "target bpp"]}
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        assert not SUMMARY_TITLE.match(heading) or heading in summaries, heading  # checked with its table
    text = re.sub(
        r"^#+ .+$", lambda m: "" if SUMMARY_TITLE.match(m.group(0).lstrip("# ")) else m.group(0), text, flags=re.M
    )
    configs = re.findall(r"^Configs: (.+)$", text, re.M)
    for line in configs:
        assert re.findall(r"`([^`]+)`", line) == facts.configs
    text = re.sub(r"^Configs: .+$", "", text, flags=re.M)
    for phrase, number in TEXT_CONSTANTS.items():
        text = text.replace(phrase, phrase.replace(number, ""))
    text = re.sub(r"`[^`]*`", "", text)  # names in code spans: sources, suites, configs, filters
    left = NUMBER.findall(text)
    assert not left, f"numbers no check covers: {left}"


def _exists(path: Path) -> str:
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG", path
    return ""


def check_code(facts: Facts, page: Markdown) -> None:
    names = {"default", *facts.sources, *facts.configs}
    for block in page.code:
        if block and block[0].startswith("from datasets import"):
            for name in re.findall(r'load_dataset\("path/to/this/folder", "([^"]+)"', "\n".join(block)):
                assert name in names
        else:
            assert block == facts.commands(), block


def check_front_matter(facts: Facts, front: dict) -> None:
    configs = {c["config_name"]: c for c in front["configs"]}
    assert list(configs) == ["default", *facts.sources, *facts.configs]
    sizes = {i["config_name"]: i.get("download_size") for i in front["dataset_info"]}
    assert sizes["default"] == sum(s.tar_bytes for s in facts.sources.values())
    assert all(sizes[name] == s.tar_bytes for name, s in facts.sources.items())
    licences = sorted({r["card"]["license"] for s in facts.sources.values() for r in s.kept})
    assert front.get("license") == (licences[0] if len(licences) == 1 else licences)


def check_markdown_page(facts: Facts, text: str) -> set[str]:
    """Check one README.md or DATASHEET.md; returns the kinds of table it holds."""
    page = parse_markdown(text)
    if page.front is not None:
        check_front_matter(facts, page.front)
    kinds = check_tables(facts, page)
    check_code(facts, page)
    check_prose(facts, page)
    return kinds


# ---- the HTML report ------------------------------------------------------------------------------------------


def _text(element) -> str:
    return " ".join(element.get_text(" ").split())


def check_report(facts: Facts, html: str) -> dict[str, int]:
    """Check benchmark/report.html; returns counts of what was checked (images, versions, tables)."""
    from bs4 import BeautifulSoup

    frame = facts.results
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    checked = Counter()

    overview = soup.find(id="overview")
    match = re.fullmatch(
        r"(\d+) rows of results\.parquet ?: (\d+) images in (\d+) set\(s\) × (\d+) codec\(s\) \(([^)]*)\) × "
        r"(\d+) target\(s\) \(([^)]*) bpp\); (.*?) ?\.",
        _text(overview),
    )
    assert match, _text(overview)
    rows, images, sets, codecs, codec_names, targets, target_names, statuses = match.groups()
    assert int(rows) == len(frame) and int(images) == frame[["source", "key"]].drop_duplicates().shape[0]
    assert int(sets) == frame["source"].nunique() and int(codecs) == frame["codec"].nunique()
    assert sorted(c.removesuffix(ORACLE_MARK) for c in codec_names.split(", ")) == sorted(frame["codec"].unique())
    assert int(targets) == frame["target_bpp"].nunique()
    assert [float(t) for t in target_names.split(", ")] == sorted(frame["target_bpp"].unique())
    counts = dict(reversed(part.split(" ")) for part in statuses.split(", "))
    assert {k: int(v) for k, v in counts.items()} == frame["status"].value_counts().to_dict()
    overview.decompose()
    command = soup.find("code", class_="command")
    if command is not None:
        assert command.get_text() == facts.compress["command"]
        command.decompose()

    for table in soup.find_all("table", class_="summary"):
        title = table.find_previous("h3")
        headers = [_text(th) for th in table.find_all("th")]
        rows = [[_text(td) for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
        check_summary(facts, _text(title), headers, rows)
        table.decompose()
        title.decompose()
        checked["tables"] += 1
    note = soup.find("p", class_="note")
    text = _text(note)
    assert all(phrase in text for phrase in NOTE_CONSTANTS), text
    note.decompose()
    plot_note = soup.find("p", class_="note")
    if plot_note is not None:
        assert all(phrase in _text(plot_note) for phrase in PLOT_CONSTANTS), _text(plot_note)
        plot_note.decompose()

    for shown in soup.find_all("p", class_="shown"):
        source = shown.find_previous("h3")["id"].removeprefix("set-")
        articles = soup.find_all("article", attrs={"data-source": source})
        match = re.match(r"Showing (\d+) of (\d+) images", _text(shown))
        assert match and int(match[1]) == len(articles), _text(shown)
        assert int(match[2]) == frame.loc[frame["source"] == source, "key"].nunique()
        shown.decompose()
        for article in articles:
            _check_article(facts, source, article)
            checked["images"] += 1
            checked["versions"] += len(article.find_all("figure", class_="version"))
            article.decompose()
    left = NUMBER.findall(soup.get_text(" "))
    assert not left, f"numbers no check covers: {left}"
    return dict(checked)


def _check_article(facts: Facts, source: str, article) -> None:
    frame = facts.results
    key = article["data-key"]
    mine = frame[(frame["source"] == source) & (frame["key"] == key)]
    assert len(mine) == frame[["codec", "target_bpp"]].drop_duplicates().shape[0], key  # every codec and target
    width, height = int(mine["width"].iloc[0]), int(mine["height"].iloc[0])
    prompt = article.find("p", class_="prompt")
    if facts.sources.get(source) is not None:
        record = next(r for r in facts.sources[source].kept if r["key"] == key)
        assert prompt is not None and prompt.get_text() == record["prompt"]["text"]
    if prompt is not None:
        prompt.decompose()
    ok_versions = set()
    for figure in article.find_all("figure", class_="version"):
        caption = _text(figure.find("figcaption"))
        if figure["data-version"] == "original":
            assert caption == f"{width}×{height} px" and figure.find("img") is not None
            continue
        row = mine[(mine["codec"] == figure["data-codec"]) & (mine["target_bpp"] == float(figure["data-target"]))]
        assert len(row) == 1
        row = row.iloc[0]
        assert figure["data-status"] == row["status"]
        assert caption.split(" ")[:2] == ["target", f"{float(figure['data-target']):g}"], caption
        if row["status"] == "ok":
            ok_versions.add(figure["data-version"])
            numbers = caption.split(" ", 2)[2]
            bpp, *scores = numbers.split(" · ")
            assert bpp.endswith(" bpp") and close(bpp[:-4], row["bpp"])
            from aigi_scd.bench.metrics import LABELS

            names = {label: m for m, label in LABELS.items()}  # "ms_ssim (RGB) 0.91": the convention's label
            shown = {names.get(k, k): v for k, v in (part.rsplit(" ", 1) for part in scores)}
            expected = {m: row[m] for m in facts.metrics if pd.notna(row[m])}
            assert set(shown) == set(expected), (shown, expected)
            assert all(close(shown[m], expected[m]) for m in expected), (key, row["config"], shown)
            assert figure.find("img") is not None
        else:
            note = _text(figure.find("div", class_="missing"))
            if row["status"] == "unreachable" and pd.notna(row["min_bpp"]):
                match = re.fullmatch(r"unreachable: smallest file ([\d.]+) bpp", note)
                assert match and close(match[1], row["min_bpp"]), note
            else:
                assert note.startswith(row["status"]), note
    for select in article.find_all("select"):
        values = [o["value"] for o in select.find_all("option")]
        assert values == ["original", *sorted(ok_versions, key=values.index)]
        for option in select.find_all("option")[1:]:
            codec, target = re.fullmatch(r"(.+) @ ([\d.]+) bpp", option.get_text()).groups()
            codec = codec.removesuffix(ORACLE_MARK)
            assert option["value"] == f"{codec}@{float(target):g}"
