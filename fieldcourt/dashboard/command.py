"""``fieldcourt dashboard``'s command line: its parser, and ``add-user``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from fieldcourt.settings import Settings
from streams.errors import ConfigurationError


def read_password(name: str) -> str:
    """From the terminal (asked twice, not echoed) or one line of standard input; never from
    the command line, where other users and the shell's history would see it."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            raise ConfigurationError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def add_user_command(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.dashboard.users import add_user

    try:
        user = add_user(settings.users_file, args.name, args.section, read_password(args.name))
    except ValueError as exc:
        print(f"fieldcourt dashboard add-user: {exc}", file=sys.stderr)
        return 2
    print(f"dashboard: {user.name} ({user.role}) in {settings.users_file}")
    return 0


def add_parser(sub: Any) -> None:
    """The ``dashboard`` subcommand and its ``add-user`` action."""
    dashboard = sub.add_parser(
        "dashboard",
        help="the sections' and the COJC's web pages (sign-in, cases, alerts map, live)",
        description="Without an action: serve the dashboard on FIELDCOURT_DASHBOARD_BIND:"
        "FIELDCOURT_DASHBOARD_PORT until Ctrl-C, its state rebuilt from the section and alert "
        "topics. Users come from FIELDCOURT_DASHBOARD_USERS_FILE (default <data dir>/dashboard/"
        "users).",
    )
    dashboard.add_argument("--bind", metavar="HOST", help="instead of FIELDCOURT_DASHBOARD_BIND")
    dashboard.add_argument(
        "--port", type=int, metavar="PORT", help="instead of FIELDCOURT_DASHBOARD_PORT"
    )
    actions = dashboard.add_subparsers(dest="dashboard_action", required=False)
    add = actions.add_parser(
        "add-user",
        help="add a user (or set their section and password); the password is read from the "
        "terminal, or one line of standard input",
    )
    add.add_argument("name")
    add.add_argument(
        "--section",
        required=True,
        type=str.lower,
        choices=["p12", "p20", "f3", "p4", "cojc"],
        help="the one section whose cases the user sees, or cojc for the alerts",
    )
