"""Metric families whose samples are already rendered in the Prometheus text format.

Theory of operation: a scrape of a whole-Internet verdict snapshot is about a
million samples. prometheus_client's `generate_latest` formats every sample
from a `Sample` tuple (sorting labels, escaping, float formatting), several
seconds for a million. A verdict snapshot changes once per round while
Prometheus scrapes it many times, so we render each family's sample lines once
per snapshot (`RenderedFamily.body`) and the exposition in
`vantage.collector.metrics.server` copies those bytes (and a gzip member made
once) into every response.

A `RenderedFamily` is still a genuine `prometheus_client.Metric`: anything that
walks a registry the ordinary way (`generate_latest`, `get_sample_value` in
tests, another exposition server) sees its samples, parsed back from the very
text we serve, so the fast and the ordinary path cannot disagree.
"""

from __future__ import annotations

import zlib

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

__all__ = ["RenderedFamily", "escape_label_value", "family_text", "gzip_bytes", "help_line"]

# zlib level 1: about 3x faster than the default level 6 for a few percent more
# bytes (measured on a 63 MB scrape: 0.29 s, 12:1); the member is made once per snapshot.
GZIP_LEVEL = 1


def escape_label_value(value: str) -> str:
    """Escape a label value for the text format (backslash, double quote, newline)."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def help_line(name: str, documentation: str, typ: str) -> str:
    """The `# HELP` and `# TYPE` lines of a family."""
    doc = documentation.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {typ}\n"


def family_text(name: str, label_and_values: list[str]) -> str:
    """Sample lines of one family from `{labels} value` strings.

    Joining with the metric name as separator writes the name into every line
    in one C-level pass instead of one Python string operation per sample.
    """
    if not label_and_values:
        return ""
    return name + ("\n" + name).join(label_and_values) + "\n"


class RenderedFamily(Metric):
    """A gauge family carrying its rendered sample lines; `samples` is parsed lazily from them."""

    def __init__(self, name: str, documentation: str, body: str) -> None:
        self._parsed: list[Sample] | None = None
        super().__init__(name, documentation, "gauge")
        self.body = body
        self._encoded: bytes | None = None
        self._gzip_member: bytes | None = None

    # Metric.__init__ assigns `self.samples = []`; the setter accepts that (and any
    # explicit list) while an unset family derives its samples from `body`.
    @property
    def samples(self) -> list[Sample]:
        if self._parsed is None:
            self._parsed = self._parse_samples()
        return self._parsed

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        self._parsed = list(value) if value else None

    def _parse_samples(self) -> list[Sample]:
        if not self.body:
            return []
        parsed: list[Sample] = []
        for family in text_string_to_metric_families(self.text()):
            parsed.extend(family.samples)
        return parsed

    def text(self) -> str:
        """The whole family (HELP, TYPE and samples) in the text format."""
        return help_line(self.name, self.documentation, "gauge") + self.body

    def encoded(self) -> bytes:
        """`text()` as UTF-8, made once."""
        if self._encoded is None:
            self._encoded = self.text().encode("utf-8")
        return self._encoded

    def gzip_member(self) -> bytes:
        """`encoded()` as one gzip member, made once.

        Concatenated gzip members form a valid gzip stream (RFC 1952 section 2.2;
        Go's and Python's readers accept multi-member streams), so a response can
        splice this cached member next to freshly compressed service metrics.
        """
        if self._gzip_member is None:
            self._gzip_member = gzip_bytes(self.encoded())
        return self._gzip_member


def gzip_bytes(data: bytes) -> bytes:
    """One gzip member of `data` at GZIP_LEVEL."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()
