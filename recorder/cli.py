"""``tyndau archive …``: mix a capture, seal it into the archive, verify an archive.

Each subcommand lives with the module that does its work and is added here,
so the server's CLI only knows this one group.
"""

from __future__ import annotations

import argparse

from recorder import archive_cli, mixer


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``archive`` command group to the ``tyndau`` parser."""
    archive = subparsers.add_parser("archive", help="recordings: mix, seal, verify")
    commands = archive.add_subparsers(dest="archive_command", required=True)
    # Each entry: recorder.<module>.add_command(commands). Subcommands set
    # `func` (args -> exit status) and, when they need no server, host/port None.
    mixer.add_command(commands)  # mix
    archive_cli.add_command(commands)  # seal, verify
    del commands
