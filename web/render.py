"""HTML from view models: Jinja2 with autoescaping on for every template.

AS names, summaries and target URLs come from datasets and users; the
templates print them as text only (never as a link target or an attribute
that runs code), and autoescaping escapes every value on output.
"""

from __future__ import annotations

from typing import Any

import jinja2

from vantage.web.models import STATUS_ORDER, utc
from vantage.web.params import iso


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vantage.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = utc
    env.filters["iso"] = iso
    env.globals["status_order"] = STATUS_ORDER
    return env


def render(env: jinja2.Environment, template: str, **values: Any) -> str:
    return env.get_template(template).render(**values)
