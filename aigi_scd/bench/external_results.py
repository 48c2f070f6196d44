"""Results made elsewhere, checked against the sets they claim to score before any work: every key of a set
that has files must have a bitstream and a readable reconstruction of the original's size at every target, and no
file may name a key that no set has. Each problem is one line naming the file and the fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from aigi_scd.bench.options import CodecChoice
from aigi_scd.bench.sources import Source
from aigi_scd.codec.plugins.external import image_size, index_folder, target_folders
from aigi_scd.errors import ConfigError

SHOWN = 3  # keys named in a message before "and N more"


def _some(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def check_results(choice: CodecChoice, sources: list[Source]) -> list[str]:
    """ConfigError for the first problem with `choice`'s results folder; returns the names of the sets it scores
    (a set none of whose keys have files is not one of them)."""
    root = Path(choice.preset.options["results"])
    keys = {key: source for source in sources for shard in source.shards for key in shard.keys}
    folders = target_folders(root)
    if not folders:
        raise ConfigError(f"{root} has no target folders; put each target's files in a folder named by its bpp (0.03/)")
    indexes = {}
    for target, folder in folders.items():
        index, problems = index_folder(folder)
        if problems:
            raise ConfigError(problems[0])
        extra = sorted(set(index) - set(keys))
        if extra:
            raise ConfigError(
                f"{folder}: files for keys no set has ({_some(extra)}); name files by the set's keys (such as "
                f"{next(iter(keys), 'kodak-kodim01')}) or remove them"
            )
        indexes[target] = index
    scored = [s for s in sources if any(k in index for index in indexes.values() for k in _keys(s))]
    for source in scored:
        for target, index in indexes.items():
            missing = [k for k in _keys(source) if k not in index]
            if missing:
                raise ConfigError(
                    f"{folders[target]}: no bitstream for {len(missing)} of set {source.name}'s {len(_keys(source))} "
                    f"keys ({_some(missing)}); add them, or score a set they all belong to"
                )
        wanted = {k for k in _keys(source)}
        for item in source.items_by_key(wanted):
            original = image_size(item.data)
            for index in indexes.values():
                files = index[item.key]
                if files.bitstream.stat().st_size == 0:
                    raise ConfigError(f"{files.bitstream} is empty; a bitstream has at least one byte")
                if files.reconstruction is None:
                    raise ConfigError(f"{files.bitstream} has no reconstruction {item.key}.png beside it; add it")
                size = image_size(files.reconstruction.read_bytes())
                if size is None:
                    raise ConfigError(
                        f"{files.reconstruction} cannot be read as an image; write the reconstruction as a PNG"
                    )
                if original is not None and size != original:
                    raise ConfigError(
                        f"{files.reconstruction} is {size[0]}x{size[1]}, but the original {item.key} is "
                        f"{original[0]}x{original[1]}; give the reconstruction at the original's size"
                    )
    return [s.name for s in scored]


def _keys(source: Source) -> list[str]:
    return [k for shard in source.shards for k in shard.keys]


def with_their_sets(codecs: list[CodecChoice], sources: list[Source]) -> list[CodecChoice]:
    """Results made elsewhere, checked against the sets (one line for the first problem), each limited to the sets
    its files name; other codecs as they are."""
    checked = []
    for choice in codecs:
        if choice.preset.kind == "external":
            scored = check_results(choice, sources)
            if not scored:
                raise ConfigError(
                    f"results {choice.preset.options['results']}: no file is named by a key of the sets "
                    f"({', '.join(s.name for s in sources)}); name each file by its image's key"
                )
            choice = dataclasses.replace(choice, sets=tuple(scored))
        checked.append(choice)
    return checked
