"""The facts of an X.509 certificate read from its DER form: subject, issuer, validity, names.

Python's ssl module describes a peer certificate (getpeercert()) only once it has been
verified; with verification off, or when it failed, only the DER bytes are there. A TLS
interception case is exactly a certificate that fails verification, and its subject and
issuer are the evidence (issue 18), so the driver reads every certificate from DER here: one
code path whether verification passed or not.

Only the parts of RFC 5280 section 4.1 needed for that are decoded (a small DER reader:
tag, length, value); anything malformed raises ValueError. Names are written as getpeercert()
gives them to vantage's callers: "commonName=x, organizationName=y", OpenSSL's long names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

# DER tags (X.690): universal types and the context-specific ones a certificate uses.
_BOOLEAN, _INTEGER, _OCTET_STRING, _OID = 0x01, 0x02, 0x04, 0x06
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_SEQUENCE, _SET = 0x30, 0x31
_EXPLICIT_VERSION, _EXPLICIT_EXTENSIONS = 0xA0, 0xA3
_SAN_DNS_NAME = 0x82  # GeneralName [2] dNSName IA5String
_SUBJECT_ALT_NAME = "2.5.29.17"

# Attribute OIDs -> OpenSSL's long names (crypto/objects/objects.txt), as getpeercert() prints.
ATTRIBUTE_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.42": "givenName",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "domainComponent",
}


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...]
    sha256: str  # of the DER form, lower-case hex: the certificate's fingerprint


def certificate_facts(der: bytes) -> CertificateFacts:
    """Decode a DER certificate; ValueError when it is not one."""
    certificate, _ = _element(der, 0, _SEQUENCE)
    tbs, _ = _element(certificate, 0, _SEQUENCE)
    offset = 0
    if tbs[:1] == bytes([_EXPLICIT_VERSION]):
        _, offset = _tlv(tbs, offset)
    _, offset = _element(tbs, offset, _INTEGER)  # serialNumber
    _, offset = _element(tbs, offset, _SEQUENCE)  # signature algorithm
    issuer, offset = _element(tbs, offset, _SEQUENCE)
    validity, offset = _element(tbs, offset, _SEQUENCE)
    subject, offset = _element(tbs, offset, _SEQUENCE)
    _, offset = _element(tbs, offset, _SEQUENCE)  # subjectPublicKeyInfo
    dns_names: tuple[str, ...] = ()
    while offset < len(tbs):
        tag, value, offset = _any(tbs, offset)
        if tag == _EXPLICIT_EXTENSIONS:
            dns_names = _san_dns_names(value)
    not_before_tag, not_before, after_offset = _any(validity, 0)
    not_after_tag, not_after, _ = _any(validity, after_offset)
    return CertificateFacts(
        subject=_name_text(subject),
        issuer=_name_text(issuer),
        not_before=_time(not_before_tag, not_before),
        not_after=_time(not_after_tag, not_after),
        dns_names=dns_names,
        sha256=hashlib.sha256(der).hexdigest(),
    )


def _tlv(data: bytes, offset: int) -> tuple[int, int]:
    """(tag, offset after the element) without slicing out its value."""
    tag, _, end = _any(data, offset)
    return tag, end


def _any(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, value, offset after the element) of the DER element at `offset`."""
    if offset + 2 > len(data):
        raise ValueError("DER: truncated element")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:  # long form: the next (length & 0x7F) bytes hold the length
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise ValueError("DER: bad length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise ValueError("DER: element runs past its container")
    return tag, data[offset:end], end


def _element(data: bytes, offset: int, expected_tag: int) -> tuple[bytes, int]:
    tag, value, end = _any(data, offset)
    if tag != expected_tag:
        raise ValueError(f"DER: expected tag {expected_tag:#04x}, found {tag:#04x}")
    return value, end


def _oid_text(value: bytes) -> str:
    if not value:
        raise ValueError("DER: empty OID")
    arcs = [value[0] // 40, value[0] % 40] if value[0] < 80 else [2, value[0] - 80]
    current = 0
    for byte in value[1:]:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    return ".".join(map(str, arcs))


def _name_text(name: bytes) -> str:
    """An X.501 Name (SEQUENCE of SETs of (OID, string)) as "commonName=x, ..."."""
    parts = []
    offset = 0
    while offset < len(name):
        rdn, offset = _element(name, offset, _SET)
        inner = 0
        while inner < len(rdn):
            pair, inner = _element(rdn, inner, _SEQUENCE)
            oid, value_offset = _element(pair, 0, _OID)
            _, value, _ = _any(pair, value_offset)
            key = _oid_text(oid)
            # BMPString (0x1E) is UTF-16; every other string type a certificate uses is 8-bit.
            text = value.decode("utf-16-be" if pair[value_offset] == 0x1E else "utf-8", errors="replace")
            parts.append(f"{ATTRIBUTE_NAMES.get(key, key)}={text}")
    return ", ".join(parts)


def _time(tag: int, value: bytes) -> datetime:
    text = value.decode("ascii")
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; RFC 5280 4.1.2.5.1: YY >= 50 is 19YY
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise ValueError(f"DER: {tag:#04x} is not a time")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def _san_dns_names(extensions_explicit: bytes) -> tuple[str, ...]:
    extensions, _ = _element(extensions_explicit, 0, _SEQUENCE)
    offset = 0
    while offset < len(extensions):
        extension, offset = _element(extensions, offset, _SEQUENCE)
        oid, inner = _element(extension, 0, _OID)
        if _oid_text(oid) != _SUBJECT_ALT_NAME:
            continue
        tag, value, inner = _any(extension, inner)
        if tag == _BOOLEAN:  # critical
            tag, value, inner = _any(extension, inner)
        if tag != _OCTET_STRING:
            raise ValueError("DER: extension value is not an OCTET STRING")
        names, _ = _element(value, 0, _SEQUENCE)
        found = []
        position = 0
        while position < len(names):
            name_tag, name, position = _any(names, position)
            if name_tag == _SAN_DNS_NAME:
                found.append(name.decode("ascii", errors="replace"))
        return tuple(found)
    return ()
