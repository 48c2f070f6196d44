"""The `aigi-scd` command line: parse options, call one function of a stage, print a summary.

Each module registers its commands on the one click group (:mod:`aigi_scd.cli.app`); importing this
package registers them all.
"""

from aigi_scd.cli import (  # noqa: F401
    build_commands,
    card_command,
    codec_commands,
    compress_command,
    import_command,
    list_commands,
    verify_command,
)
from aigi_scd.cli.app import cli, main

__all__ = ["cli", "main"]
