"""Who may sign in to the dashboard: one line per user in a plain file.

``NAME ROLE HASH``: a user name (letters, digits, ``._-``), a role (a section, ``p12``, ``p20``,
``f3``, ``p4``, or ``cojc``) and the argon2id hash of the password. The file is written by
``fieldcourt dashboard add-user`` and read again when it changes; it holds no password.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fieldcourt.topics import ALERTS_TOPIC, case_topic
from streams.errors import ConfigurationError

Role = Literal["p12", "p20", "f3", "p4", "cojc"]
ROLES: tuple[Role, ...] = get_args(Role)
SECTION_ROLES: tuple[Role, ...] = ("p12", "p20", "f3", "p4")
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
#: Checked against when the user is unknown, so that a wrong name costs what a wrong password
#: does and the answer's time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UsersFileError(ConfigurationError):
    """The users file is missing or malformed; the message names the file and the line."""


def role_topic(role: Role) -> str:
    """The one topic a role reads: its section's case topic, or the alerts for the COJC."""
    return ALERTS_TOPIC if role == "cojc" else case_topic(role)


def role_label(role: Role) -> str:
    return role.upper()


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str

    @property
    def is_section(self) -> bool:
        return self.role != "cojc"


def parse_role(value: str) -> Role:
    role = value.strip().lower()
    for known in ROLES:
        if role == known:
            return known
    raise ValueError(f"unknown role {value!r}: one of {', '.join(ROLES)}")


def parse_users(text: str, where: str = "users file") -> dict[str, User]:
    users: dict[str, User] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise UsersFileError(f"{where} line {number}: expected NAME ROLE HASH")
        name, role, hashed = fields
        if not USER_NAME.fullmatch(name):
            raise UsersFileError(f"{where} line {number}: bad user name {name!r}")
        try:
            parsed = parse_role(role)
        except ValueError as exc:
            raise UsersFileError(f"{where} line {number}: {exc}") from None
        if not hashed.startswith("$argon2"):
            raise UsersFileError(f"{where} line {number}: not an argon2 hash")
        if name in users:
            raise UsersFileError(f"{where} line {number}: user {name!r} appears twice")
        users[name] = User(name, parsed, hashed)
    return users


def format_users(users: Iterable[User]) -> str:
    header = "# fieldcourt dashboard users: NAME ROLE ARGON2-HASH (fieldcourt dashboard add-user)\n"
    return header + "".join(f"{u.name} {u.role} {u.password_hash}\n" for u in users)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if password != password.strip() or "\n" in password:
        raise ValueError("a password may not start or end with blanks")


def write_users(path: Path, users: Iterable[User]) -> None:
    """Replace the file at once (a reader never sees half of it), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(format_users(users))
    tmp.replace(path)


def add_user(path: Path, name: str, role: str, password: str) -> User:
    """Add a user, or set the role and password of an existing one."""
    if not USER_NAME.fullmatch(name):
        raise ValueError("a user name is letters, digits, '.', '_' or '-', at most 64")
    check_new_password(password)
    users = parse_users(path.read_text(), str(path)) if path.exists() else {}
    user = User(name, parse_role(role), hash_password(password))
    users[name] = user
    write_users(path, users.values())
    return user


class UserStore:
    """The users file, read again whenever it changed on disk (a user added by the command
    line can sign in without a restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}
        self.reload()

    def reload(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise UsersFileError(
                f"no users file at {self.path}: add a user with "
                "`fieldcourt dashboard add-user NAME --section p12` (or set "
                "FIELDCOURT_DASHBOARD_USERS_FILE)"
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._users = parse_users(self.path.read_text(), str(self.path))
                self._stamp = stamp

    def __len__(self) -> int:
        return len(self._users)

    def get(self, name: str) -> User | None:
        """The user as the file says now; a file gone or broken lets nobody in."""
        try:
            self.reload()
        except UsersFileError:
            with self._lock:
                self._users, self._stamp = {}, None
        return self._users.get(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user whose name and password these are, else None. Slow on purpose (argon2):
        call it off the event loop."""
        user = self.get(name)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user
