"""No module outside evalsvc/kinds/ names a built-in kind: core reads what kinds declare."""
import ast
from importlib.metadata import entry_points
from pathlib import Path

import evalsvc
from evalsvc.kinds import ENTRY_POINT_GROUP

PACKAGE = Path(evalsvc.__file__).parent
EXEMPT = ("kinds", "migrations")  # the kinds themselves; migrations are history


def built_in_kinds() -> dict[str, str]:
    """Kind name → the module that defines it, for the kinds shipped inside evalsvc."""
    return {ep.name: ep.module for ep in entry_points(group=ENTRY_POINT_GROUP)
            if ep.module.startswith("evalsvc.kinds.")}


def mentions(tree: ast.AST, names: set[str], modules: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every string equal to a kind's name and every import of its module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.strip() in names:
            found.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            found += [(node.lineno, m) for m in imported & modules]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name in modules]
    return found


def test_the_scan_finds_a_kind_named_in_code():
    """The check can fail: a literal kind name and an import of a kind's module are caught."""
    kinds = built_in_kinds()
    name, module = next(iter(kinds.items()))
    source = f"from {module.rpartition('.')[0]} import {module.rpartition('.')[2]}\n" \
             f"RATED = ({name!r},)\n"
    assert len(mentions(ast.parse(source), set(kinds), set(kinds.values()))) == 2


def test_no_core_module_names_a_built_in_kind():
    kinds = built_in_kinds()
    assert len(kinds) >= 4
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in EXEMPT:
            continue
        for line, what in mentions(ast.parse(path.read_text(encoding="utf-8")), set(kinds),
                                   set(kinds.values())):
            offenders.append(f"evalsvc/{relative}:{line}: {what}")
    assert offenders == [], "core names a kind; declare it on the kind instead:\n" + \
        "\n".join(offenders)
