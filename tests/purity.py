"""What a module imports, read from its source: the check behind STYLE.md rule 1.

Each area's purity test lists its pure modules and the modules they must not import
(sockets, clocks, randomness, processes, gRPC, SQL); this reads the imports once,
the same way for all of them.
"""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(path: Path) -> set[str]:
    """Dotted names of every module `path` imports, at any depth (nested imports too)."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return imported


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def sibling_modules(modules: set[str], package: str) -> set[str]:
    """The file names (`x.py`) of the modules of `package` among `modules`."""
    prefix = package + "."
    return {name.removeprefix(prefix).split(".")[0] + ".py" for name in modules if name.startswith(prefix)}
