"""`vantage probe measure`: argument errors exit 2; real measurements over loopback."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vantage import cli


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "measure", "icmp"],
        ["probe", "measure", "icmp", "192.0.2.0/33"],
        ["probe", "measure", "icmp", "192.0.2.0/2"],
        ["probe", "measure", "icmp", "192.0.2.1", "--rate", "0"],
        ["probe", "measure", "icmp", "192.0.2.1", "--count", "0"],
        ["probe", "measure", "icmp", "192.0.2.1", "--timeout", "-5"],
        ["probe", "measure", "icmp", "192.0.2.1", "--size", "4"],
        ["probe", "measure", "dns", "x.test", "--server", "not-an-ip"],
        ["probe", "measure", "dns", "x.test", "--server", "192.0.2.53", "--type", "BOGUS"],
        ["probe", "measure", "http", "ftp://x.test/"],
        ["probe", "measure", "http", "http://x.test/", "--resolve", "x.test"],
        ["probe", "measure", "http", "http://x.test/", "--resolve", ":192.0.2.80"],
        ["probe", "measure", "http", "http://x.test/", "--resolve", "x.test:[192.0.2.80"],
        ["probe", "measure", "tcp", "192.0.2.1"],
        ["probe", "measure", "tcp", "192.0.2.1:99999"],
        ["probe", "measure", "tcp", "192.0.2.1:80", "--concurrency", "0"],
        ["probe", "measure", "icmp", "--targets-file", "/nonexistent/targets.txt"],
    ],
)
def test_invalid_arguments_exit_2_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert "vantage: error:" in capsys.readouterr().err


def test_argparse_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["probe", "measure", "icmp", "192.0.2.1", "--count", "many"])
    assert exit_info.value.code == 2


def test_every_protocol_has_helpful_help(capsys: pytest.CaptureFixture[str]) -> None:
    for protocol in ("icmp", "dns", "http", "tcp"):
        with pytest.raises(SystemExit):
            cli.main(["probe", "measure", protocol, "--help"])
        out = capsys.readouterr().out
        assert "examples:" in out and "--rate" in out and "--json" in out


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<title>loopback</title>hello"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_tcp_and_http_over_loopback(http_server: int, capsys: pytest.CaptureFixture[str]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    argv = ["probe", "measure", "tcp", f"127.0.0.1:{http_server}", f"127.0.0.1:{closed_port}", "--json"]
    assert cli.main(argv) == 1
    by_port = {doc["target"]["port"]: doc for doc in _json_lines(capsys.readouterr().out)}  # type: ignore[index]
    assert by_port[http_server]["outcome"] == "OUTCOME_OK"
    assert by_port[closed_port]["failure"]["kind"] == "connection_refused"  # type: ignore[index]
    assert (
        cli.main(
            [
                "probe",
                "measure",
                "http",
                f"http://loop.test:{http_server}/",
                "--resolve",
                "loop.test:127.0.0.1",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "200" in table and " ok" in table


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root (or ping_group_range)")
def test_icmp_over_loopback_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "measure", "icmp", "127.0.0.1", "::1", "-c", "2", "--interval", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("TARGET") and len(lines) == 3
    assert cli.main(["probe", "measure", "icmp", "127.0.0.1", "-c", "2", "--interval", "10", "--json"]) == 0
    (doc,) = _json_lines(capsys.readouterr().out)
    icmp = doc["icmp"]
    assert doc["protocol"] == "PROTOCOL_ICMP" and icmp["sent"] == 2 and icmp["received"] == 2  # type: ignore[index]
    assert icmp["reply_ttl"] == 64  # type: ignore[index]


@pytest.mark.parametrize(
    "prefix", ["198.51.100.0/24", "192.0.2.0/30", "192.0.2.0/31", "192.0.2.7/32", "2001:db8::/125"]
)
def test_prefixes_expand_to_their_hosts(prefix: str) -> None:
    import ipaddress

    from vantage.probe.measure.cli import expand_prefix

    network = ipaddress.ip_network(prefix)
    expected = network.hosts() if network.num_addresses > 2 else network
    assert expand_prefix(prefix) == [str(address) for address in expected]
    assert expand_prefix("192.0.2.1") is None


def test_progress_bar_draws_and_ends_with_a_newline() -> None:
    import io

    from vantage.probe.measure.run import Progress

    stream = io.StringIO()
    progress = Progress(3, stream)
    for _ in range(3):
        progress.step()
    text = stream.getvalue()
    assert text.startswith("\r[") and text.endswith("] 3/3\n")


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "measure", "tcp", "127.0.0.1:1", "127.0.0.1:2"]) == 1
    assert "[" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("X.test:192.0.2.80", ("x.test", "192.0.2.80")),
        ("x.test:2001:db8::80", ("x.test", "2001:db8::80")),  # issue 18: split at the first colon
        ("x.test:[2001:db8::80]", ("x.test", "2001:db8::80")),
        ("x.test:[2001:DB8:0::80]", ("x.test", "2001:db8::80")),
    ],
)
def test_resolve_takes_ipv4_and_ipv6_with_or_without_brackets(entry: str, expected: tuple[str, str]) -> None:
    from vantage.probe.measure.targets import parse_resolve

    assert parse_resolve(entry) == expected


_MANY = [f"192.0.2.{n}" for n in range(1, 101)]


@pytest.mark.parametrize(
    "words",
    [
        [*_MANY],
        [*_MANY, "--count", "1", "--json"],
        ["--rate", "5000", *_MANY, "--timeout=300", "-c", "2"],
        ["-", *_MANY, "--interval", "-5"],
        ["--count", "1", *_MANY[:50], "--json", *_MANY[50:]],  # two runs: argparse's own error
        [*_MANY, "--cou", "1"],  # an abbreviation: argparse's own reading
        [*_MANY, "--", "-x"],
        [*_MANY, "--count"],  # a value missing
        [*_MANY[:10], "--json"],  # few words: argparse alone
    ],
)
def test_many_targets_parse_as_argparse_parses_them(words: list[str]) -> None:
    from vantage.probe.measure.cli import parse_measure_argv

    argv = ["probe", "measure", "icmp", *words]

    def parsed(fast: bool) -> object:
        parser = cli.build_parser(argv)
        try:
            args = parse_measure_argv(parser, argv) if fast else None
            namespace = vars(args if args is not None else parser.parse_args(argv))
            return {k: v for k, v in namespace.items() if k != "group_parser"}  # a parser object
        except SystemExit as exc:
            return ("exit", exc.code)

    expected = parsed(fast=False)
    assert parsed(fast=True) == expected
    for protocol in ("tcp", "dns"):  # every protocol's options are its own parser's
        argv = ["probe", "measure", protocol, *words]
        expected = parsed(fast=False)
        assert parsed(fast=True) == expected


def test_many_targets_skip_argparse_per_target() -> None:
    from vantage.probe.measure.cli import parse_measure_argv

    argv = ["probe", "measure", "icmp", "--count", "2", *_MANY, "--json"]
    args = parse_measure_argv(cli.build_parser(argv), argv)
    assert args is not None and args.targets == _MANY and args.count == 2 and args.json


@pytest.mark.parametrize(
    "texts",
    [
        ["192.0.2.1"],
        ["192.0.2.1", "198.51.100.255", "0.0.0.0"],
        ["192.0.2.1", "192.0.2.01"],  # a leading zero
        ["192.0.2.1", "192.0.2.1\n192.0.2.2"],  # a newline inside one text
        ["192.0.2.1", ""],
        ["192.0.2.1", "2001:db8::1"],
        ["192.0.2.256", "192.0.2.1"],
        ["192.0.2.1", "192.0.2.1 "],
        ["192.0.2.1", "192.0.2.1 x"],
        ["1", "127.1", "0x7f.0.0.1", "192.0.2.1"],  # inet_aton's other forms
        ["192.0.2.1", "192.0.2.\x001"],
        ["192.0.2.1", "192.0.2.١"],  # an Arabic-Indic digit
        ["192.0.2.1", "192.0.2.0", "255.255.255.255", "1.2.3.4.5"],
    ],
)
def test_all_canonical_ipv4_agrees_with_the_one_by_one_check(texts: list[str]) -> None:
    from vantage.probe.engine.model import is_canonical_ipv4
    from vantage.probe.measure.targets import all_canonical_ipv4

    assert all_canonical_ipv4(texts) == all(map(is_canonical_ipv4, texts))


@pytest.mark.parametrize(
    "text",
    ["192.0.2.1\n 192.0.2.2 \r\n\n\t192.0.2.3\n", "192.0.2.1  # first\n# all of it\n192.0.2.2\n\n x#y \n"],
)
def test_targets_files_with_and_without_comments(text: str, tmp_path: Path) -> None:
    from vantage.probe.measure.cli import _read_targets_file

    path = tmp_path / "targets.txt"
    path.write_text(text)
    expected = [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
    assert _read_targets_file(str(path)) == expected and expected
