"""`aigi-scd verify DIR`: is a build or compress output folder whole, and consistent with itself?

Above both stages because it checks both: the build's shards against their stats and plan
(:mod:`aigi_scd.build.check`), the compressed units and benchmark tables against their bitstreams and
current sources (:mod:`aigi_scd.bench.check`), the dataset card against the files
(:mod:`aigi_scd.dataset.card_check`), leftovers of interrupted runs, and (unless ``quick``) that every
config of the card loads with ``datasets``.

``repair`` rebuilds what can be rebuilt from what is on disk (stats files, the card, the tables), removes
or sets aside what cannot (so the command that made it makes it again), then checks again; what remains
is reported with the command that regenerates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aigi_scd.bench.check import ORDER_TABLES, check_compressed, rewrite_tables
from aigi_scd.build.check import DAMAGED_SUFFIX, check_build, unmade_shards
from aigi_scd.dataset.card import card_metadata, write_dataset_card
from aigi_scd.dataset.card_check import card_configs, card_problems, load_problems
from aigi_scd.dataset.compressed_card import compressed_configs, write_compress_card
from aigi_scd.dataset.integrity import Finding
from aigi_scd.dataset.shards import MANIFEST, model_data_dir
from aigi_scd.dataset.swap import JOURNAL, finish_pending_swap, staging_dir
from aigi_scd.errors import AigiScdError, OutputDirError

ORDER_FIRST = 0
ORDER_CARD = 40


@dataclass
class VerifyReport:
    out: Path
    kind: str  # "build" or "compress"
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    samples: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def regenerate(self) -> list[str]:
        """The commands that make again what is missing, each once."""
        return list(dict.fromkeys(f.regenerate for f in self.findings if f.regenerate))

    def lines(self) -> list[str]:
        lines = [f"repaired: {line}" for line in self.repaired]
        for finding in self.findings:
            lines.append(f"PROBLEM {finding.problem}")
            if finding.repair:
                lines.append(f"  --repair: {finding.repair}")
            if finding.regenerate:
                lines.append(f"  regenerate with: {finding.regenerate}")
        lines += [f"note: {note}" for note in self.notes]
        what = f"{self.kind} folder {self.out}" + (f", {self.samples} samples read" if self.samples else "")
        if self.ok:
            return [*lines, f"OK: {what}: no problems found."]
        repairable = sum(f.action is not None for f in self.findings)
        summary = f"{len(self.findings)} problem(s) in {what}"
        if repairable:
            summary += f"; {repairable} repairable: aigi-scd verify {self.out} --repair"
        commands = self.regenerate()
        if commands:
            summary += "; then regenerate with: " + " && ".join(commands)
        return [*lines, summary + "."]


def folder_kind(out: Path) -> str:
    out = Path(out)
    if not out.is_dir():
        raise OutputDirError(f"{out}: no such folder; give the --out of a build or of `aigi-scd compress`")
    if (out / MANIFEST).is_file():
        return "build"
    if (out / "compress.json").is_file() or (out / "compressed").is_dir():
        return "compress"
    raise OutputDirError(
        f"{out} is neither an aigi-scd build ({MANIFEST} is missing) nor a compress output (compress.json); "
        "give the --out of one"
    )


def check(out: Path, deep: bool = True, load: bool = True, progress: bool = False) -> VerifyReport:
    """Every problem of the folder `out`, repairs attached; nothing is changed."""
    from tqdm.auto import tqdm

    out = Path(out)
    report = VerifyReport(out, folder_kind(out))
    findings, notes = report.findings, report.notes
    findings += _leftovers(out)
    notes += [
        f"{p.relative_to(out)} was set aside by a repair; delete it when it is no longer needed"
        for p in sorted(out.rglob(f"*{DAMAGED_SUFFIX}"))
    ]
    with tqdm(desc="verify", unit="sample", disable=not progress, dynamic_ncols=True, leave=False) as bar:

        def counted() -> None:
            report.samples += 1
            bar.update()

        pending: set[str] = set()
        if report.kind == "build":
            findings += check_build(out, deep, counted)
            pending = unmade_shards(out)
        units, unit_notes = check_compressed(out, deep, pending)
    findings += units
    notes += unit_notes
    card = _card_findings(out, report.kind, findings)
    findings += card
    if load and not card and not any(f.where.name == MANIFEST for f in findings):
        findings += [Finding(out / "README.md", problem) for problem in load_problems(out, card_configs(out) or [])]
    return report


def _leftovers(out: Path) -> list[Finding]:
    """What an interrupted run leaves: a pending swap (finished by any later command) and temporary files."""
    findings = []
    if (staging_dir(out) / JOURNAL).is_file():
        findings.append(
            Finding(
                staging_dir(out) / JOURNAL,
                "an interrupted `aigi-scd filter` left a complete staging whose swap is not finished",
                repair="finish the swap",
                action=lambda: "finished the pending swap" if finish_pending_swap(out) else "no swap was pending",
                order=ORDER_FIRST,
            )
        )
    elif staging_dir(out).is_dir():
        findings.append(
            Finding(
                staging_dir(out),
                "an interrupted `aigi-scd filter` left its staging (the build itself is as before it); rerun that "
                "filter command to finish it, or delete the folder",
            )
        )
    for tmp in sorted(p for p in out.rglob("*.tmp") if staging_dir(out) not in p.parents):
        findings.append(
            Finding(
                tmp,
                f"{tmp.relative_to(out)}: a temporary file left by an interrupted run",
                repair="delete it",
                action=lambda tmp=tmp: _delete(tmp, out),
                order=ORDER_FIRST,
            )
        )
    return findings


def _delete(path: Path, out: Path) -> str:
    path.unlink(missing_ok=True)
    return f"deleted {path.relative_to(out)}"


def _card_findings(out: Path, kind: str, findings: list[Finding]) -> list[Finding]:
    if any(f.where.name == MANIFEST for f in findings):
        return []  # no card can be written without the manifest
    try:
        if kind == "build":
            from aigi_scd.dataset.imports_card import source_image_fields
            from aigi_scd.dataset.shards import read_manifest

            sources = source_image_fields(out, read_manifest(out))
            models = list(sources)
            expected = card_metadata(out, sources)["configs"]
            empty = not any(any(model_data_dir(out, m).glob("train-*.tar")) for m in models)
        else:
            expected, empty = compressed_configs(out)[0], False
    except AigiScdError as exc:
        return [Finding(out / "README.md", f"the card cannot be checked: {exc}")]
    problems = card_problems(out, expected)
    result = []
    if empty:
        problems = [p for p in problems if "config 'default' names" not in p]
        result.append(_empty_dataset(out))
    if problems:
        rewrite = write_dataset_card if kind == "build" else write_compress_card
        result.append(
            Finding(
                out / "README.md",
                "; ".join(problems),
                repair="rewrite the dataset card from the files on disk",
                action=lambda: f"rewrote {rewrite(out).relative_to(out)}",
                order=ORDER_CARD,
            )
        )
    return result


def _empty_dataset(out: Path) -> Finding:
    """Why a build folder holds no kept image, and the command that fills it: the run that made it stopped before
    its first shard (rerun it: it resumes), or the filters rejected everything (re-judge generated models with
    `aigi-scd filter`; an imported source is imported again with another preset)."""
    from aigi_scd.build.check import build_command
    from aigi_scd.dataset.imports_card import import_commands
    from aigi_scd.dataset.shards import finished_shards, imported_sources, read_manifest, source_names

    manifest = read_manifest(out)
    names = source_names(manifest)
    shards = {name: finished_shards(out, name) for name in names}
    imported = set(imported_sources(manifest))
    if not any(shards.values()):
        commands = ([build_command(manifest)] if manifest.get("config") else []) + import_commands(manifest)
        return Finding(
            out / "data",
            "the dataset is empty: no shard is finished (the run that made this folder stopped before its first "
            "one: a full disk, a kill, an error), so load_dataset has nothing to load; the same command resumes",
            regenerate=" && ".join(commands),
        )
    rejected = [n for n in names if sum(int(s.get("rejected") or 0) for s in shards[n].values())]
    commands = [f"aigi-scd filter {out} --preset <a looser preset>"] if set(rejected) - imported else []
    commands += [
        f"aigi-scd import ... --source {n} --out {out} --filters <a looser preset> --overwrite"
        for n in rejected
        if n in imported
    ]
    return Finding(
        out / "data",
        "the dataset is empty: no image was kept ("
        + (f"the filters rejected every image of {', '.join(rejected)}" if rejected else "every row was a duplicate")
        + "), so load_dataset has nothing to load",
        regenerate=" && ".join(commands),
    )


def verify(
    out: Path, *, repair: bool = False, deep: bool = True, load: bool = True, progress: bool = False
) -> VerifyReport:
    """Check `out`; with `repair`, apply every repair (in order), rewrite the card and tables when anything
    changed, and check again. The report lists what was repaired and what remains."""
    report = check(out, deep, load, progress)
    if not repair or not any(f.action for f in report.findings):
        return report
    repaired = []
    done_tables = done_card = False
    for finding in sorted((f for f in report.findings if f.action), key=lambda f: f.order):
        repaired.append(finding.action())
        done_tables |= finding.order == ORDER_TABLES
        done_card |= finding.order == ORDER_CARD
    out = Path(out)
    if not done_tables and (out / "compressed").is_dir():
        repaired.append(rewrite_tables(out))  # counts changed with the units or shards repaired above
    if not done_card and (out / "README.md").is_file() and not any(f.where.name == MANIFEST for f in report.findings):
        path = write_dataset_card(out) if report.kind == "build" else write_compress_card(out)
        repaired.append(f"rewrote {path.relative_to(out)}")
    again = check(out, deep, load, progress)
    again.repaired = repaired
    listed = {f.regenerate for f in again.findings if f.regenerate}
    for finding in report.findings:  # what a repair removed and only a command makes again (a unit, an import)
        if finding.action and finding.regenerate and finding.regenerate not in listed and not finding.where.exists():
            label = finding.problem.split(": ", 1)[0]
            again.findings.append(
                Finding(
                    finding.where, f"{label}: removed by the repair, not made again yet", regenerate=finding.regenerate
                )
            )
    return again
