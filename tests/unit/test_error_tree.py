"""The error tree drawn in ``streams/errors.py`` is the tree of the classes: every error that
descends from ``FieldcourtError`` is drawn under its parent, with its exit status."""

from __future__ import annotations

import importlib
import pkgutil
import re

import streams.errors
from streams.errors import FieldcourtError

PACKAGES = ("streams", "schemas", "agents", "fieldcourt")
#: ``    │   ├── SettingsError    ...`` / ``    FieldcourtError    exit 1``
LINE = re.compile(r"^    (?P<indent>[│ ├└─]*)(?P<name>[A-Z]\w+)\s+(?:exit (?P<exit>\d+))?")


def drawn_tree() -> dict[str, tuple[str | None, int | None]]:
    """Each drawn class: (its parent in the drawing, the exit status written beside it)."""
    doc = streams.errors.__doc__ or ""
    lines = doc[doc.index("    FieldcourtError") :].split("\n\n", 1)[0].splitlines()
    drawn: dict[str, tuple[str | None, int | None]] = {}
    parents: list[str] = []  # the open branch, one class per depth
    for line in lines:
        match = LINE.match(line)
        assert match, line
        depth = len(match["indent"]) // 4
        parents = parents[:depth]
        status = int(match["exit"]) if match["exit"] else None
        drawn[match["name"]] = (parents[-1] if parents else None, status)
        parents.append(match["name"])
    return drawn


def every_error() -> dict[str, type[FieldcourtError]]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            importlib.import_module(info.name)
    found: dict[str, type[FieldcourtError]] = {}
    todo: list[type[FieldcourtError]] = [FieldcourtError]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] in PACKAGES:
            found[cls.__name__] = cls
        todo += cls.__subclasses__()
    return found


def test_every_error_is_drawn_under_its_parent_with_its_exit_status() -> None:
    drawn = drawn_tree()
    classes = every_error()
    assert sorted(drawn) == sorted(classes)
    for name, (parent, status) in drawn.items():
        cls = classes[name]
        bases = [b.__name__ for b in cls.__mro__[1:] if issubclass(b, FieldcourtError)]
        assert (bases[0] if bases else None) == parent, name
        if status is not None:
            assert cls.exit_status == status, name


def test_the_drawing_is_read_as_a_tree() -> None:
    drawn = drawn_tree()
    assert drawn["FieldcourtError"] == (None, 1)
    assert drawn["SettingsError"] == ("ConfigurationError", None)
    assert drawn["FaustInternalsMissing"] == ("FieldcourtError", 70)
