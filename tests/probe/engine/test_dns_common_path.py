"""The DNS step's common path without dnspython (issue 18: CPU per query, start-up): the names,
types, flags and rcodes it writes and reads by itself are the ones dnspython gives."""

from __future__ import annotations

import subprocess
import sys

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from vantage.probe.engine.dns import step as dns_step
from vantage.probe.engine.model import DnsOptions

NAMES = [
    "www.example.test", "www.example.test.", "Mixed.Case.TEST", "_dmarc.example.test", "a-b.c_d.test",
    "x" * 63 + ".test", "x" * 64 + ".test", ".".join(["a" * 63] * 3) + ".b" * 31, ".".join(["a" * 63] * 4),
    "a..b.test", ".", "", "@", "a\\.b.test", "xn--bcher-kva.test", "bücher.test", "a b.test", "-.test",
    "1.2.3.4", "a.test..",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_plain_names_are_written_and_spelled_as_dnspython_does(name: str) -> None:
    wire = dns_step._plain_wire(name)
    try:
        parsed = dns.name.from_text(name)
    except dns.exception.DNSException:
        assert wire is None  # dnspython says what is wrong with it
        with pytest.raises(ValueError):
            dns_step.validate_options(DnsOptions(query_name=name))
        return
    dns_step.validate_options(DnsOptions(query_name=name))
    if wire is not None:
        assert wire == parsed.to_wire()
    assert dns_step._asked_text(name) == parsed.to_text().lower()


def test_flags_rcodes_and_types_are_dnspythons() -> None:
    assert dict(dns_step._FLAGS) == {
        name: int(dns.flags.from_text(name.upper())) for name, _ in dns_step._FLAGS
    }
    assert dns_step._RD == dns.flags.RD
    for rcode in range(16):
        assert dns_step._rcode_text(rcode) == dns.rcode.to_text(rcode)  # type: ignore[arg-type]
    for name, code in dns_step._TYPE_CODES.items():
        assert dns.rdatatype.from_text(name) == code
        assert dns_step._type_code(name.lower()) == code
    assert dns_step._type_code("TYPE65280") == 65280  # through dnspython


def test_the_common_path_does_not_import_dnspython() -> None:
    # Building a query and judging a plain A answer leave dnspython unloaded; another record type
    # loads it. Run in a fresh interpreter, since this one has dnspython loaded already.
    response = dns.message.make_response(
        dns.message.make_query("www.example.test", "A", use_edns=0, payload=1232)
    )
    response.answer.append(dns.rrset.from_text("www.example.test.", 60, "IN", "A", "192.0.2.7"))
    program = f"""
import sys
from vantage.probe.engine.dns import step
from vantage.probe.engine.model import DnsOptions
options = DnsOptions(query_name="www.example.test", query_type="A", expected=("192.0.2.7",))
step.validate_options(options)
step.build_query(options, 7)
exchange = step.Exchange("192.0.2.53", 53, "udp", {response.to_wire()!r}, 1.0)
outcome, failure, details = step.interpret(options, exchange)
assert outcome.name == "OK" and details.answers[0].data == "192.0.2.7", (outcome, details)
assert not [m for m in sys.modules if m == "dns" or m.startswith("dns.")], sorted(sys.modules)
step.build_query(DnsOptions(query_name="www.example.test", query_type="NAPTR"), 7)
assert "dns.rdatatype" in sys.modules
"""
    subprocess.run([sys.executable, "-c", program], check=True)
