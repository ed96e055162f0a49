"""A target file (parsed by collector/targets/files.py) → wire TargetSpecs for ImportTargets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vantage.v1 import admin_service_pb2


@dataclass(frozen=True, slots=True)
class FileRowError:
    line: int
    target: str
    message: str


def parse_target_file(
    text: str, *, source_name: str, default_country: str
) -> tuple[list[Any], list[FileRowError]]:
    """(rows, errors) of a target file; errors name their line."""
    from vantage.collector.targets.files import parse_targets

    parsed = parse_targets(text, source_name=source_name, default_country=default_country)
    errors = [FileRowError(line=e.line, target="", message=e.message) for e in parsed.errors]
    return list(parsed.rows), errors


def row_to_spec(row: Any) -> admin_service_pb2.TargetSpec:
    """A vantage.collector.targets.files.TargetRow → TargetSpec."""
    return admin_service_pb2.TargetSpec(
        target=row.target,
        protocols=[int(p) for p in row.protocols],  # type: ignore[misc]
        country=row.country,
        asn=row.asn or 0,
        tags=list(row.tags),
        source=row.source,
        line=row.line,
    )
