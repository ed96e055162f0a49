"""Which optional part of the distribution a third-party import belongs to.

The base install is a probe's (it runs on volunteers' machines); the collector,
the lab and PostgreSQL storage come as extras (pyproject.toml's
[project.optional-dependencies]). When one is missing, the CLI names the extra
to install in one line instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Extra:
    name: str  # as in `pip install 'vantage[NAME]'`
    needed_by: str  # who needs it, for the message


COLLECTOR = Extra("collector", "the collector")
LAB = Extra("lab", "the lab")
POSTGRES = Extra("postgres", "PostgreSQL storage")
WEB = Extra("web", "the web site")

# Top-level import name -> the extra that installs it.
EXTRA_OF_IMPORT: dict[str, Extra] = {
    "numpy": COLLECTOR,
    "grpc_health": COLLECTOR,
    "grpc_reflection": COLLECTOR,
    "mrtparse": COLLECTOR,  # MRT route files (collector/bgp/mrt_files.py)
    "matplotlib": LAB,
    "psycopg": POSTGRES,
    "psycopg_pool": POSTGRES,
    "aiohttp": WEB,
    "jinja2": WEB,
}


def missing_extra_message(missing_module: str | None) -> str | None:
    """The one-line advice for a ModuleNotFoundError of `missing_module`, or None if no extra has it."""
    if not missing_module:
        return None
    extra = EXTRA_OF_IMPORT.get(missing_module.split(".")[0])
    if extra is None:
        return None
    top_level = missing_module.split(".")[0]
    return f"{extra.needed_by} needs {top_level}: pip install 'vantage[{extra.name}]'"
