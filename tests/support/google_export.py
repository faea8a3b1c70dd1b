"""Google Authenticator export URIs built by hand, byte by byte: independent of the decoder."""

import base64
from urllib.parse import quote

# The enum numbers of the app's schema.
SHA1, SHA256, SHA512, MD5 = 1, 2, 3, 4
SIX, EIGHT = 1, 2
HOTP, TOTP = 1, 2


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        if not number:
            return bytes(out + bytes([low]))
        out.append(low | 0x80)


def field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: a varint (wire type 0) for an int, else length-delimited (2). A
    negative int is written as protobuf writes one: 64-bit two's complement, ten bytes."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value & (2**64 - 1))
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def entry(secret: str, name="", issuer="", algorithm=0, digits=0, kind=TOTP, counter=0) -> bytes:
    """An OtpParameters message; `secret` in base32, as people see it. Zero fields are left out,
    as proto3 writes them."""
    fields = [(1, base64.b32decode(secret)), (2, name), (3, issuer)]
    fields += [(4, algorithm), (5, digits), (6, kind), (7, counter)]
    return b"".join(field(number, value) for number, value in fields if value)


def payload(*entries: bytes, version=1, batch_size=1, batch_index=0, batch_id=-7) -> bytes:
    """A MigrationPayload; batch_id negative, as the app's often is (a ten-byte varint)."""
    body = b"".join(field(1, each) for each in entries)
    rest = [(2, version), (3, batch_size), (4, batch_index), (5, batch_id)]
    return body + b"".join(field(number, value) for number, value in rest if value)


def export_uri(data: bytes) -> str:
    """The URI the app's QR code holds: base64, percent-encoded (+, / and = included)."""
    return "otpauth-migration://offline?data=" + quote(base64.b64encode(data).decode(), safe="")


def export_parts(*parts: tuple[bytes, ...], batch_id=-7) -> list[str]:
    """The URIs of one export split over len(parts) QR codes, in order: each part's entries."""
    return [
        export_uri(payload(*entries, batch_size=len(parts), batch_index=index, batch_id=batch_id))
        for index, entries in enumerate(parts)
    ]
