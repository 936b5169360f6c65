"""``astroglia rhythmic ...`` sub-commands (Rhythmic Sharing)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``rhythmic`` command group to the top-level parser."""
    p = sub.add_parser("rhythmic", help="Rhythmic Sharing reservoir: train, sense, recall, scan, demo")
    rsub = p.add_subparsers(dest="rhythmic_command", metavar="SUBCOMMAND", required=True)
    del rsub
