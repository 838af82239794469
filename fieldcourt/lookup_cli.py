"""``fieldcourt subject lookup``'s command line (the lookup itself: ``fieldcourt.lookup``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fieldcourt.argtypes import purpose
from fieldcourt.settings import Settings


def subject_command(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.lookup import lookup

    for line in lookup(settings, args.purpose, args.identity_file):
        print(line)
    return 0


def add_parser(sub: Any) -> None:
    """The ``subject`` subcommand and its ``lookup`` action."""
    subject = sub.add_parser("subject", help="rights of access: the cases holding a person")
    actions = subject.add_subparsers(dest="subject_action", required=True)
    lookup = actions.add_parser(
        "lookup",
        help="compute a person's subject reference and list the cases that hold it",
        description="Identity attributes (person_id, or last_name, first_name and birth_date) "
        "are read from --identity-file (a JSON object) or asked at the prompt, never taken "
        "from the command line. The lookup is recorded in audit.v1 before anything is read.",
    )
    lookup.add_argument(
        "--purpose",
        required=True,
        type=purpose,
        help="why you look up: the access request's reference (recorded in audit.v1)",
    )
    lookup.add_argument(
        "--identity-file",
        type=Path,
        metavar="FILE",
        help="a JSON object of identity attributes (else: asked at the prompt)",
    )
