"""The ``astroglia`` command: a thin composer of configuration, library calls and reports.

Sub-commands are registered by the modules of this package, each exposing ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import sys

from astroglia import __version__
from astroglia.errors import AstrogliaError, DataError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser of the ``astroglia`` command."""
    from astroglia.cli import demo, mgd, rhythmic

    parser = argparse.ArgumentParser(
        prog="astroglia",
        description="Astrocyte-inspired learning: Multiplexed Gradient Descent and Rhythmic Sharing.",
    )
    parser.add_argument("--version", action="version", version=f"astroglia {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    mgd.register(sub)
    rhythmic.register(sub)
    demo.register(sub)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Let every sub-command's parser put itself into the namespace (the deepest one parsed wins), so that an
    unknown option is reported with the usage of the command it was given to."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)
                _remember_parsers(child)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"astroglia: error: {exc}", file=sys.stderr)
        print(
            "astroglia: on the command line, point --data-dir at the files (Fashion-MNIST also has an "
            "embedded sample: --data-source sample)",
            file=sys.stderr,
        )
        return 2
    except AstrogliaError as exc:
        print(f"astroglia: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an --out that cannot be created or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"astroglia: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("astroglia: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
