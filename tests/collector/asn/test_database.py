"""AsnDatabase: every accepted format, longest-prefix match, merging, errors, and the real dataset."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from vantage.collector.asn.database import AsnDatabase, AsnInfo
from vantage.collector.asn.formats import DatasetError, DatasetFormat

IP_LOCATION_DB_ASN = """\
192.0.2.0,192.0.2.127,64500,Example Net One
192.0.2.128,192.0.2.255,64501,"Example, Inc. ""Two"" Ltd"
198.51.100.0,198.51.100.255,64502,Example Three
2001:db8::,2001:db8:0:ffff:ffff:ffff:ffff:ffff,64503,Example Six
"""
IP_LOCATION_DB_COUNTRY = """\
192.0.2.0,192.0.2.255,kz
198.51.100.0,198.51.100.127,FR
2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,DE
"""
PFX2AS = """\
198.18.0.0\t15\t64510
198.18.4.0\t24\t64511_64512
198.18.4.128\t25\t64513,64514
2001:db8::\t32\t64515
2001:db8:1::\t48\t64516
"""
IPTOASN = """\
203.0.113.0\t203.0.113.63\t64520\tKZ\tEXAMPLE-KZ - Example KZ
203.0.113.64\t203.0.113.127\t0\tNone\tNot routed
203.0.113.128\t203.0.113.255\t64521\tRU\tEXAMPLE-RU
2001:db8:abcd::\t2001:db8:abcd:ffff:ffff:ffff:ffff:ffff\t64522\tBY\tEXAMPLE-BY
"""


def write(tmp_path: Path, name: str, text: str, *, gzipped: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("192.0.2.0", AsnInfo(64500, "Example Net One", "")),
        ("192.0.2.127", AsnInfo(64500, "Example Net One", "")),
        ("192.0.2.128", AsnInfo(64501, 'Example, Inc. "Two" Ltd', "")),
        ("198.51.100.255", AsnInfo(64502, "Example Three", "")),
        ("2001:db8::1", AsnInfo(64503, "Example Six", "")),
        ("2001:db8:1::1", None),
        ("203.0.113.1", None),
        ("::ffff:192.0.2.1", AsnInfo(64500, "Example Net One", "")),
    ],
)
def test_ip_location_db_asn_csv(tmp_path: Path, address: str, expected: AsnInfo | None) -> None:
    db = AsnDatabase.load([write(tmp_path, "asn.csv", IP_LOCATION_DB_ASN)])
    assert db.files[0].format is DatasetFormat.IP_LOCATION_DB_ASN
    assert db.range_count == 4
    assert db.lookup(address) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("198.19.255.255", 64510),  # the /15 alone
        ("198.18.4.1", 64511),  # the /24 inside it; multi-origin a_b: first AS
        ("198.18.4.200", 64513),  # the /25 inside the /24; AS set a,b: first AS
        ("198.18.5.0", 64510),  # back in the /15 after the nested prefixes end
        ("198.20.0.0", None),
        ("2001:db8:1:2::3", 64516),
        ("2001:db8:2::", 64515),
    ],
)
def test_pfx2as_longest_prefix_match(tmp_path: Path, address: str, expected: int | None) -> None:
    db = AsnDatabase.load([write(tmp_path, "routeviews.pfx2as", PFX2AS)])
    assert db.files[0].format is DatasetFormat.ROUTEVIEWS_PFX2AS
    info = db.lookup(address)
    assert (info.asn if info else None) == expected
    if info:
        assert info.name == "" and info.country == ""  # pfx2as names nothing


def test_iptoasn_tsv_gives_asn_name_and_country_and_skips_not_routed(tmp_path: Path) -> None:
    db = AsnDatabase.load([write(tmp_path, "ip2asn-combined.tsv.gz", IPTOASN, gzipped=True)])
    assert db.files[0].format is DatasetFormat.IPTOASN_TSV
    assert db.lookup("203.0.113.10") == AsnInfo(64520, "EXAMPLE-KZ - Example KZ", "KZ")
    assert db.lookup("203.0.113.100") is None
    assert db.lookup("203.0.113.200") == AsnInfo(64521, "EXAMPLE-RU", "RU")
    assert db.lookup("2001:db8:abcd:1::1") == AsnInfo(64522, "EXAMPLE-BY", "BY")
    assert db.as_name(64521) == "EXAMPLE-RU"
    assert db.as_name(1) == ""


def test_asn_then_country_dataset_are_merged(tmp_path: Path) -> None:
    db = AsnDatabase.load(
        [
            write(tmp_path, "asn.csv.gz", IP_LOCATION_DB_ASN, gzipped=True),
            write(tmp_path, "country.csv", IP_LOCATION_DB_COUNTRY),
        ]
    )
    assert db.lookup("192.0.2.200") == AsnInfo(64501, 'Example, Inc. "Two" Ltd', "KZ")
    assert db.lookup("198.51.100.1") == AsnInfo(64502, "Example Three", "FR")
    assert db.lookup("198.51.100.200") == AsnInfo(64502, "Example Three", "")
    assert db.lookup("2001:db8:ff::1") == AsnInfo(0, "", "DE")  # only the country is known
    assert db.range_count == 7


def test_first_asn_file_wins_and_names_come_from_any_file(tmp_path: Path) -> None:
    pfx = write(tmp_path, "a.pfx2as", "192.0.2.0\t24\t64999\n")
    csv = write(tmp_path, "b.csv", "192.0.2.0,192.0.2.255,64999,Named Here\n198.51.100.0,198.51.100.9,1,X\n")
    db = AsnDatabase.load([pfx, csv])
    assert db.lookup("192.0.2.1") == AsnInfo(64999, "Named Here", "")
    assert db.lookup("198.51.100.1") == AsnInfo(1, "X", "")


def test_comments_blank_lines_and_crlf_are_accepted(tmp_path: Path) -> None:
    text = "# ip-location-db export\r\n\r\n192.0.2.0,192.0.2.255,64500,Example\r\n"
    db = AsnDatabase.load([write(tmp_path, "asn.csv", text)])
    assert db.lookup("192.0.2.9") == AsnInfo(64500, "Example", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data lines"),
        ("hello world\n", ":1: unrecognised dataset format"),
        ("192.0.2.0,192.0.2.255,64500,A\n192.0.2.0,192.0.2.256,64501,B\n", ":2: not an IPv4 address"),
        ("192.0.2.0,192.0.2.255,64500,A\n\n192.0.2.9,192.0.2.1,64501,B\n", ":3: range ends before it starts"),
        ("192.0.2.0,192.0.2.255,KZ\n192.0.2.0,192.0.2.255,K1\n", ":2: not a two-letter country code"),
        ("192.0.2.0,192.0.2.255,KZ\n192.0.2.0,192.0.2.255,KZ,X\n", ":2: expected 3 comma-separated fields"),
        ("192.0.2.0\t24\t64500\n192.0.2.1\t24\t64500\n", ":2: host bits set"),
        ("192.0.2.0\t24\t64500\n192.0.2.0\t33\t64500\n", ":2: prefix length 33 out of range"),
        ("192.0.2.0\t24\t64500\n192.0.2.0\t24\t4294967296\n", ":2: AS number 4294967296 above"),
        ("192.0.2.0,192.0.2.255,64500,A\n2001:db8::,192.0.2.1,64500,B\n", ":2: range mixes IPv4 and IPv6"),
    ],
)
def test_unreadable_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DatasetError, match=message) as raised:
        AsnDatabase.load([path])
    assert str(path) in str(raised.value)


def test_missing_and_damaged_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        AsnDatabase.load([tmp_path / "absent.csv"])
    damaged = tmp_path / "damaged.csv.gz"
    damaged.write_bytes(gzip.compress(b"192.0.2.0,192.0.2.255,64500,A\n" * 100)[:40])
    with pytest.raises(DatasetError, match="damaged gzip"):
        AsnDatabase.load([damaged])
    latin1 = write(tmp_path, "latin1.csv", "")
    latin1.write_bytes(b"192.0.2.0,192.0.2.255,64500,A\n192.0.2.0,192.0.2.255,64500,Caf\xe9\n")
    with pytest.raises(DatasetError, match=r"latin1.csv:2: not UTF-8"):
        AsnDatabase.load([latin1])


def test_lookup_rejects_non_addresses_and_empty_database_finds_nothing() -> None:
    db = AsnDatabase.empty()
    assert db.lookup("192.0.2.1") is None
    assert db.lookup("2001:db8::1") is None
    for bad in ("", "192.0.2", "192.0.2.1.5", "example.org", "2001:db8:::1"):
        with pytest.raises(ValueError):
            db.lookup(bad)


def test_real_ip_location_db(shared_data: Path) -> None:
    folder = shared_data / "ip-location-db"
    db = AsnDatabase.load([folder / "asn-ipv4.csv.gz", folder / "geo-whois-asn-country-ipv4.csv.gz"])
    assert db.files[0].range_count == 411_961
    for first, last, asn, name in [
        ("2.132.0.0", "2.135.255.255", 9198, "JSC Kazakhtelecom"),
        ("2.72.0.0", "2.79.255.255", 29355, "Kcell JSC"),
        ("5.34.25.0", "5.34.30.255", 206026, "Kar-Tel LLC"),
    ]:
        for address in (first, last):
            info = db.lookup(address)
            assert info is not None and (info.asn, info.name) == (asn, name)
            assert info.country == "KZ"
    # one past each end leaves the range
    assert db.lookup("2.136.0.0") is None or db.lookup("2.136.0.0").asn != 9198  # type: ignore[union-attr]
    assert db.lookup("193.0.14.129") == AsnInfo(
        25152, "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)", "NL"
    )
    sample = [f"{a}.{b}.{c}.1" for a in range(1, 224, 7) for b in range(0, 256, 51) for c in (0, 128)]
    assert db.lookup_many(sample) == [db.lookup(address) for address in sample]


def test_real_ip_location_db_ipv6(shared_data: Path) -> None:
    folder = shared_data / "ip-location-db"
    db = AsnDatabase.load([folder / "asn-ipv6.csv.gz"])
    assert db.files[0].range_count == 103_197
    info = db.lookup("2001:200::1")
    assert info is not None and (info.asn, info.name) == (2500, "WIDE Project")


def test_lookup_many_equals_lookup(tmp_path: Path) -> None:
    db = AsnDatabase.load(
        [
            write(tmp_path, "asn.csv", IP_LOCATION_DB_ASN),
            write(tmp_path, "country.csv", IP_LOCATION_DB_COUNTRY),
            write(tmp_path, "r.pfx2as", PFX2AS),
        ]
    )
    addresses = [
        "192.0.2.1",
        "192.0.2.200",
        "198.51.100.200",
        "198.18.4.130",
        "203.0.113.1",
        "2001:db8::1",
        "2001:db8:1::1",
        "::ffff:192.0.2.1",
        "0.0.0.0",
        "255.255.255.255",
    ]
    assert db.lookup_many(addresses) == [db.lookup(a) for a in addresses]
    assert db.lookup_many([]) == []
    with pytest.raises(ValueError, match=r"example\.org"):
        db.lookup_many(["192.0.2.1", "example.org"])


def test_bulk_fast_and_strict_paths_read_the_same() -> None:
    from vantage.collector.asn.formats import _bulk_ipv4, _fast_parse, read_rows

    text = (
        "192.0.2.0,192.0.2.127,64500,Example One\n"
        '192.0.2.128,192.0.2.255,64501,"Example, ""Two"""\n'
        "198.51.100.0,198.51.100.255,64500,Another Name For One\n"
        "203.0.113.0,203.0.113.255,0,Not announced\n"
    )
    fmt, strict_rows = read_rows(iter(text.splitlines()), source_name="x")
    strict: list[tuple[int, int, int]] = []
    names: dict[int, str] = {}
    for _, first, last, asn, name, _ in strict_rows:
        if asn:
            strict.append((first, last, asn))
            names.setdefault(asn, name)
    fast = _fast_parse(fmt, text)
    assert _bulk_ipv4(fmt, text) is None  # AS 0 rows send the file to the per-row path
    assert fast is not None and fast.asn_ranges[4] == strict and fast.names == names
    without_zero = text.rsplit("203.0.113.0", 1)[0]
    bulk = _bulk_ipv4(fmt, without_zero)
    assert bulk is not None and bulk.asn_ranges[4] == strict[:3] and bulk.names == names
    assert names[64501] == 'Example, "Two"'


@pytest.mark.parametrize("bad", ["192.0.02.1", "010.0.2.1", "192.0.2.300"])
def test_bulk_path_refuses_what_ipaddress_refuses(tmp_path: Path, bad: str) -> None:
    good = "".join(f"198.51.100.{i},198.51.100.{i},64500,X\n" for i in range(5))
    path = write(tmp_path, "asn.csv", good + f"{bad},198.51.100.200,64500,X\n")
    with pytest.raises(DatasetError, match=r"asn\.csv:6: not an IPv4 address"):
        AsnDatabase.load([path])
