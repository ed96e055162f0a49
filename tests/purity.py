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
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    return imported


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def sibling_modules(modules: set[str], package: str, package_dir: Path) -> set[str]:
    """The files (`x.py`, `sub/x.py`) of `package`, whose folder is `package_dir`, among `modules`.

    `modules` holds what `imported_modules` returns (`from a.b import c` gives `a.b` and `a.b.c`,
    for `c` may be a module or a name in one); each resolves to the deepest file that exists.
    """
    prefix = package + "."
    found: set[str] = set()
    for name in modules:
        if not name.startswith(prefix):
            continue
        parts = name.removeprefix(prefix).split(".")
        while parts:
            if package_dir.joinpath(*parts[:-1], parts[-1] + ".py").is_file():
                found.add("/".join(parts) + ".py")
                break
            parts.pop()
    return found
