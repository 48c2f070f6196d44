"""The commands a folder records (build.json's, compress.json's), pointed at where the folder is now.

A folder may have been moved, copied or mounted elsewhere since it was made; a command that `verify` or a hint
prints must make the missing parts *here*, not in the folder the first run wrote to.
"""

from __future__ import annotations

import shlex
from pathlib import Path


def command_for_folder(command: str, out: Path) -> str:
    """`command` (an ``aigi-scd`` command line as recorded) with its output folder replaced by `out`: the value
    of ``--out``, or else a compress command's build folder argument (``aigi-scd compress BUILD ...``)."""
    try:
        args = shlex.split(command)
    except ValueError:
        return command
    folder = str(out)
    for i, arg in enumerate(args):
        if arg == "--out" and i + 1 < len(args):
            args[i + 1] = folder
            return shlex.join(args)
        if arg.startswith("--out="):
            args[i] = f"--out={folder}"
            return shlex.join(args)
    if len(args) > 2 and args[1] == "compress" and not args[2].startswith("-"):
        args[2] = folder
        return shlex.join(args)
    return command
