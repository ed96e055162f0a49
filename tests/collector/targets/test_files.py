"""Target files: the project's CSV and Citizen Lab lists, row validation, errors naming the line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from vantage.collector.targets.files import ParsedTargets, RowError, TargetRow, parse_targets, tag_values
from vantage.kinds import Protocol

HEADER = "target,protocols,country,asn,tags\n"


def parse(body: str, **kwargs: str) -> ParsedTargets:
    return parse_targets(HEADER + body, source_name="targets.csv", **kwargs)


def test_good_rows_of_each_kind() -> None:
    result = parse(
        "192.0.2.1,icmp;tcp,kz,AS64500,port:443;list:kz\n"
        "2001:DB8::0:1,icmp,,,\n"
        "Resolver.Example.ORG.,dns,FR,64501,qname:example.org;qtype:aaaa;expect:192.0.2.7;expect:192.0.2.8\n"
        "https://www.example.org:8443/path?q=1,http;tcp,,,NEWS\n"
    )
    assert result.errors == ()
    assert result.format == "csv"
    assert result.rows == (
        TargetRow(
            "192.0.2.1",
            "address",
            (Protocol.ICMP, Protocol.TCP),
            "KZ",
            64500,
            ("port:443", "list:KZ"),
            "csv",
            2,
        ),
        TargetRow("2001:db8::1", "address", (Protocol.ICMP,), "", None, (), "csv", 3),
        TargetRow(
            "resolver.example.org",
            "hostname",
            (Protocol.DNS,),
            "FR",
            64501,
            ("qname:example.org", "qtype:AAAA", "expect:192.0.2.7", "expect:192.0.2.8"),
            "csv",
            4,
        ),
        TargetRow(
            "https://www.example.org:8443/path?q=1",
            "url",
            (Protocol.HTTP, Protocol.TCP),
            "",
            None,
            ("NEWS",),
            "csv",
            5,
        ),
    )
    assert tag_values(result.rows[2].tags, "expect") == ("192.0.2.7", "192.0.2.8")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",icmp,,,", "target is empty"),
        ("192.0.2.300,icmp,,,", "not an IP address, host name or http(s) URL"),
        ("exa_mple.org,icmp,,,", "character '_' is not allowed"),
        ("-example.org,icmp,,,", "starts or ends with a hyphen"),
        ("example..org,icmp,,,", "empty label"),
        ("192.0.2,icmp,,,", "all-numeric last label"),
        ("a" * 64 + ".org,icmp,,,", "longer than 63"),
        ("ftp://example.org/,http,,,", "only http:// and https://"),
        ("http://user:pw@example.org/,http,,,", "credentials"),
        ("http://example.org:99999/,http,,,", "bad port"),
        ("http:///path,http,,,", "without a host"),
        ("192.0.2.1,,,,", "protocols is empty"),
        ("192.0.2.1,icmp;smtp,,,", "unknown protocol 'smtp'"),
        ("192.0.2.1,tcp,,,", "tcp needs a port"),
        ("192.0.2.1,icmp,XX,,", "'XX' is not an ISO 3166-1 alpha-2"),
        ("192.0.2.1,icmp,KAZ,,", "not an ISO 3166-1 alpha-2"),
        ("192.0.2.1,icmp,,0,", "not an AS number"),
        ("192.0.2.1,icmp,,4294967296,", "not an AS number"),
        ("192.0.2.1,icmp,,12a,", "not an AS number"),
        ("192.0.2.1,icmp,,,port:0", "port must be 1..65535"),
        ("192.0.2.1,icmp,,,port:1;port:2", "more than one port"),
        ("192.0.2.1,dns,,,qname:bad..name", "empty label"),
        ("192.0.2.1,dns,,,qtype:BOGUS", "query type must be one of"),
        ("192.0.2.1,dns,,,expect:example.org", "expected answer must be an IP address"),
        ("192.0.2.1,icmp,,,list:moon", "list must be 'global'"),
        ("192.0.2.1,icmp,,,two words", "contains white space"),
        ("192.0.2.1,icmp,,", "expected 5 fields"),
        ("192.0.2.1,icmp,,,,extra", "expected 5 fields"),
    ],
)
def test_bad_rows_name_the_line_and_the_problem_and_good_rows_are_kept(row: str, message: str) -> None:
    result = parse(f"198.51.100.1,icmp,,,\n{row}\n198.51.100.2,icmp,,,\n")
    assert [r.target for r in result.rows] == ["198.51.100.1", "198.51.100.2"]
    assert len(result.errors) == 1
    assert result.errors[0].line == 3
    assert message in result.errors[0].message
    assert str(result.errors[0]).startswith("line 3: ")


def test_duplicates_blank_lines_quoted_multiline_fields_and_bom() -> None:
    text = "\ufeff" + HEADER + '192.0.2.1,icmp,,,"a;\nb"\n\n192.0.2.2,icmp,,,\n192.0.2.1,icmp,,,\n'
    result = parse_targets(text, source_name="t.csv")
    assert [(r.target, r.line, r.tags) for r in result.rows] == [
        ("192.0.2.1", 2, ("a", "b")),
        ("192.0.2.2", 5, ()),
    ]
    assert result.errors == (RowError(6, "192.0.2.1 is already listed on line 2"),)


def test_default_country_fills_empty_country_only() -> None:
    result = parse("192.0.2.1,icmp,,,\n192.0.2.2,icmp,fr,,\n", default_country="kz")
    assert [r.country for r in result.rows] == ["KZ", "FR"]
    with pytest.raises(ValueError, match="not an ISO 3166-1"):
        parse("192.0.2.1,icmp,,,\n", default_country="Kazakhstan")


def test_unknown_header_is_one_error_at_line_1() -> None:
    result = parse_targets("address,proto\n192.0.2.1,icmp\n", source_name="odd.csv")
    assert result.rows == () and result.format == "unknown"
    assert result.errors[0].line == 1
    assert "odd.csv: unrecognised header 'address,proto'" in result.errors[0].message
    assert parse_targets("", source_name="empty.csv").errors[0].line == 1


CITIZENLAB = (
    "url,category_code,category_description,date_added,source,notes\n"
    "http://www.example.org/,NEWS,News Media,2014-04-15,citizenlab,\n"
    'https://example.com/page,HUMR,Human Rights Issues,2020-01-01,citizenlab,"a note,\nover two lines"\n'
    "gopher://example.net/,NEWS,News Media,2014-04-15,citizenlab,\n"
    "https://example.net/,,News Media,2014-04-15,citizenlab,\n"
)


@pytest.mark.parametrize(
    ("source_name", "default_country", "country", "scope"),
    [
        ("lists/kz.csv", "", "KZ", "list:KZ"),
        ("global.csv", "", "", "list:global"),
        ("my-list.csv", "", "", "list:global"),
        ("global.csv", "by", "BY", "list:BY"),
    ],
)
def test_citizenlab_list(source_name: str, default_country: str, country: str, scope: str) -> None:
    result = parse_targets(CITIZENLAB, source_name=source_name, default_country=default_country)
    assert result.format == "citizenlab"
    assert result.rows[0] == TargetRow(
        "http://www.example.org/",
        "url",
        (Protocol.DNS, Protocol.HTTP, Protocol.TCP),
        country,
        None,
        ("NEWS", scope),
        "citizenlab",
        2,
    )
    assert result.rows[1].line == 3
    assert [(e.line, e.message.split(":")[0]) for e in result.errors] == [
        (5, "'gopher"),
        (6, "category_code '' is empty or not a code (e.g. NEWS)"),
    ]


def test_real_citizenlab_lists_parse_without_errors(shared_data: Path) -> None:
    folder = shared_data / "citizenlab-test-lists"
    lists = sorted(path for path in folder.glob("*.csv") if not path.name.startswith("00-"))
    assert {path.stem for path in lists} >= {"kz", "global"}
    for path in lists:
        text = path.read_text(encoding="utf-8")
        result = parse_targets(text, source_name=path.name)
        assert result.errors == (), path.name
        assert result.format == "citizenlab"
        assert len(result.rows) == len(list(csv.reader(io.StringIO(text)))) - 1, path.name
        scope = "list:global" if path.stem == "global" else f"list:{path.stem.upper()}"
        assert all(scope in row.tags for row in result.rows)
    kz = parse_targets((folder / "kz.csv").read_text(encoding="utf-8"), source_name="kz.csv")
    assert kz.rows[0].target == "http://www.akorda.kz/" and kz.rows[0].country == "KZ"
