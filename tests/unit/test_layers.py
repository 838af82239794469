"""The layers of README.md's "Layout", read from the code's imports (its AST, nothing run).

Imports run one way, downwards: tools, then ``agents/``, then the foundation modules of
``fieldcourt/``, then the core (``streams/``, ``schemas/``), which is plain Python and imports
no Kafka client. Also the housekeeping limits: no import cycle, no module over 500 lines, fewer
than ten lines the formatter is told to skip. A new module of ``fieldcourt/`` must be placed in
a layer here and in the README.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("streams", "schemas", "agents", "fieldcourt", "benchmarks")
CORE = ("streams", "schemas")
KAFKA_CLIENTS = ("faust", "mode", "aiokafka", "kafka", "confluent_kafka")
#: fieldcourt's config, credentials, topic catalogue, metrics, fault points and collector
#: policy: what agents/ may use of fieldcourt/.
FOUNDATION = ("settings", "kafka_auth", "topics", "metrics", "faults", "collector")
#: What people run; everything else of fieldcourt/ (subpackages by their folder).
TOOLS = (
    "cli",
    "argtypes",
    "demo",
    "simulate",
    "simulation",
    "replay",
    "watch",
    "lookup",
    "lookup_cli",
    "consult",
    "dashboard",
    "asyncapi",
    "kafka_local",
    "devpki",
    "acl",
    "scram",
    "supervise",
    "groups",
    "compose_secrets",
)
MAX_LINES = 500
MAX_FMT_SKIPS = 9
#: Not the project's code: tools, caches and run output.
NOT_OURS = {".venv", ".kafka", ".cache", "var", "node_modules", ".git"}
FMT_SKIP = "# fmt" + ": skip"  # not spelled out, or this line would count


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


@cache
def imported(path: Path) -> frozenset[str]:
    """Every module name ``path`` imports, anywhere in it (functions included), absolute;
    ``from a import b`` counts as both ``a`` and ``a.b``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return frozenset(names)


def under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def violations(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in sorted(imported(path))
        if under(name, *forbidden)
    ]


def fieldcourt_layer(name: str) -> str | None:
    """``foundation``, ``tools``, the package itself (``""``), or None: not placed."""
    parts = name.split(".")
    if parts == ["fieldcourt"]:
        return ""
    if parts[1] in FOUNDATION:
        return "foundation"
    return "tools" if parts[1] in TOOLS else None


def test_the_core_imports_neither_fieldcourt_nor_agents_nor_a_kafka_client() -> None:
    found = violations(modules(*CORE), ("agents", "fieldcourt", "benchmarks", *KAFKA_CLIENTS))
    assert not found, "streams/ and schemas/ are plain Python (README Layout):\n" + "\n".join(found)


def test_the_foundation_imports_no_agent_and_no_tool() -> None:
    foundation = [ROOT / "fieldcourt" / f"{name}.py" for name in FOUNDATION]
    tools = tuple(f"fieldcourt.{name}" for name in TOOLS)
    found = violations(foundation, ("agents", "benchmarks", *tools))
    assert not found, "fieldcourt's foundation is below agents/ and the tools:\n" + "\n".join(found)


def test_agents_use_only_the_foundation_of_fieldcourt() -> None:
    tools = tuple(f"fieldcourt.{name}" for name in TOOLS)
    found = violations(modules("agents"), ("benchmarks", *tools))
    assert not found, "agents/ is below the tools (README Layout):\n" + "\n".join(found)


def test_every_fieldcourt_module_has_its_layer_here_and_in_the_readme() -> None:
    unplaced = [
        str(path.relative_to(ROOT))
        for path in modules("fieldcourt")
        if fieldcourt_layer(module_name(path)) is None
    ]
    assert not unplaced, f"place these in FOUNDATION or TOOLS and in README Layout: {unplaced}"
    layout = readme_layout()
    missing = [
        name
        for name in (*FOUNDATION, *TOOLS)
        if not re.search(rf"(?<!\w){re.escape(name)}(\.py|/)", layout)
    ]
    assert not missing, f"README.md's Layout does not name: {missing}"
    agents = [p.name for p in modules("agents") if p.name != "__init__.py"]
    assert [a for a in agents if a not in layout] == []


def readme_layout() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"^## Layout\n(.*?)^## ", text, re.MULTILINE | re.DOTALL)
    assert found, 'README.md has no "## Layout" section'
    return found.group(1)


def test_no_import_cycle() -> None:
    graph = {
        module_name(path): {
            name for name in imported(path) if under(name, *PACKAGES) and name != module_name(path)
        }
        for path in modules(*PACKAGES)
    }
    graph = {name: {n for n in targets if n in graph} for name, targets in graph.items()}
    cycles = [cycle for cycle in strongly_connected(graph) if len(cycle) > 1]
    assert not cycles, f"modules that import each other, directly or not: {cycles}"


def strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative: the groups of nodes that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    yield sorted(group)


def test_strongly_connected_finds_a_cycle_and_leaves_a_chain() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["d"]]


def test_no_module_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in modules(*PACKAGES)
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these (at most {MAX_LINES} lines a module): {long}"


def our_python_files() -> Iterator[Path]:
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_OURS]
        yield from (Path(folder) / f for f in files if f.endswith(".py"))


def test_fewer_than_ten_fmt_skips() -> None:
    skips = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in our_python_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FMT_SKIP in line
    ]
    assert len(skips) <= MAX_FMT_SKIPS, f"let ruff format these: {skips}"
