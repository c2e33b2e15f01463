"""The ``backprop`` command: each subcommand calls a library function.

backprop example --list
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backprop", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    from .explain.cli import add_parser as add_example

    add_example(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
