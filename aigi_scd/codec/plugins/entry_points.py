"""Codecs that installed packages register under the ``aigi_scd.codecs`` entry-point group.

A package declares ``[project.entry-points."aigi_scd.codecs"] my-codec = "my_pkg.codec:MyCodec"``; the codec
is then usable by name (``--codecs my-codec``) as a ``kind: python`` preset whose class is that object, and
``aigi-scd list codecs`` says which package (and version) it came from. Nothing is imported until it is used.
"""

from __future__ import annotations

from importlib.metadata import entry_points

GROUP = "aigi_scd.codecs"


def entry_point_presets() -> list:
    """One ``kind: python`` preset per entry point of the group (in name order)."""
    from aigi_scd.codec.presets import CodecPreset

    presets = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        dist = getattr(point, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else "an unnamed distribution"
        presets.append(
            CodecPreset(
                name=point.name,
                kind="python",
                plugin=point.value,
                source=f"entry point {GROUP}:{point.name} = {point.value} (package {origin})",
            )
        )
    return presets
