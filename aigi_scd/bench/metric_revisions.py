"""Which convention each stored score was computed under, so a changed convention is never mixed with the old one.

``ms_ssim`` was pyiqa's Y-channel MS-SSIM until it became RGB MS-SSIM as CompressAI reports it (the Y-channel
variant is ``ms_ssim_y`` now). Stats files record the revision of each metric that has one; a unit without the
current revision of a requested metric is rescored from its stored reconstructions (no re-encoding), and the
tables leave such a stale column empty rather than show it under the new name.
"""

from __future__ import annotations

from typing import Any

REVISIONS: dict[str, str] = {"ms_ssim": "rgb"}


def revisions(metrics: list[str]) -> dict[str, str]:
    """The revisions of `metrics` that have one (what a stats file or a journal records)."""
    return {m: REVISIONS[m] for m in metrics if m in REVISIONS}


def outdated_metrics(stats: dict[str, Any]) -> set[str]:
    """Metrics of a stats file computed under an earlier convention than the current one."""
    recorded = stats.get("metric_revisions") or {}
    return {m for m in stats.get("metrics", []) if m in REVISIONS and recorded.get(m) != REVISIONS[m]}
