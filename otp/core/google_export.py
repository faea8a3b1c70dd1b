"""Read Google Authenticator's export, otpauth-migration://offline?data=..., into accounts."""

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from otp.core.names import InvalidAccount
from otp.core.otpauth import AccountSpec, account_spec

# One export URI is what one QR code holds: at most 4,296 characters. Twice that leaves room
# for percent-encoding and keeps a junk line of a file from costing real work.
MAX_INPUT_CHARS = 8192
# The export has no period: Google Authenticator makes every code for 30 seconds.
PERIOD = 30
SCHEME, HOST = "otpauth-migration", "offline"
_EXPECTED = "expected Google Authenticator's export, otpauth-migration://offline?data=..."

# The enums' numbers; an unspecified (0) algorithm or digit count means the app's default.
_ALGORITHMS = {0: "SHA1", 1: "SHA1", 2: "SHA256", 3: "SHA512", 4: "MD5"}
_DIGITS = {0: 6, 1: 6, 2: 8}
_UNSET, _HOTP, _TOTP = 0, 1, 2

# Its schema, Google Authenticator's MigrationPayload, described here and built at run time: no
# protoc, no generated module to keep in step with the protobuf runtime.
_F = descriptor_pb2.FieldDescriptorProto
_ENUMS = {  # enum values share their message's scope, hence the prefixes
    "Algorithm": ("UNSPECIFIED", "SHA1", "SHA256", "SHA512", "MD5"),
    "DigitCount": ("UNSPECIFIED", "SIX", "EIGHT"),
    "OtpType": ("UNSPECIFIED", "HOTP", "TOTP"),
}
_PREFIXES = {"Algorithm": "ALGORITHM_", "DigitCount": "DIGIT_COUNT_", "OtpType": "OTP_TYPE_"}
# Each message's fields: name, number, type, and the enum or message type's name where one is.
_FIELDS = {
    "OtpParameters": (
        ("secret", 1, _F.TYPE_BYTES, None),
        ("name", 2, _F.TYPE_STRING, None),
        ("issuer", 3, _F.TYPE_STRING, None),
        ("algorithm", 4, _F.TYPE_ENUM, "Algorithm"),
        ("digits", 5, _F.TYPE_ENUM, "DigitCount"),
        ("type", 6, _F.TYPE_ENUM, "OtpType"),
        ("counter", 7, _F.TYPE_INT64, None),
    ),
    "MigrationPayload": (
        ("otp_parameters", 1, _F.TYPE_MESSAGE, "OtpParameters"),  # the one repeated field
        ("version", 2, _F.TYPE_INT32, None),
        ("batch_size", 3, _F.TYPE_INT32, None),
        ("batch_index", 4, _F.TYPE_INT32, None),
        ("batch_id", 5, _F.TYPE_INT32, None),
    ),
}


def _payload_class() -> type[message.Message]:
    schema = descriptor_pb2.FileDescriptorProto(
        name="google_authenticator_export.proto", package="googleauth", syntax="proto3"
    )
    payload = schema.message_type.add(name="MigrationPayload")
    for enum_name, values in _ENUMS.items():
        enum = payload.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            enum.value.add(name=_PREFIXES[enum_name] + value, number=number)
    described = {
        "MigrationPayload": payload,
        "OtpParameters": payload.nested_type.add(name="OtpParameters"),
    }
    for message_name, fields in _FIELDS.items():
        for name, number, kind, type_name in fields:
            field = described[message_name].field.add(name=name, number=number, type=kind)
            field.label = _F.LABEL_REPEATED if kind == _F.TYPE_MESSAGE else _F.LABEL_OPTIONAL
            if type_name:
                field.type_name = f".googleauth.MigrationPayload.{type_name}"
    pool = descriptor_pool.DescriptorPool()  # a pool of its own, not the process-wide default
    pool.Add(schema)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("googleauth.MigrationPayload")
    )


MigrationPayload = _payload_class()


@dataclass(frozen=True)
class Part:
    """Which of an export's QR codes a URI is: Google Authenticator splits a large export into
    several, part `index` (from 0) of `size`, all of one `batch_id`. A size of 0 or 1 is an
    export of one QR code, complete on its own."""

    batch_id: int
    size: int
    index: int

    @property
    def whole(self) -> bool:
        return self.size <= 1

    def __str__(self) -> str:
        return f"part {self.index + 1} of {self.size}"


@dataclass(frozen=True)
class Export:
    """One export URI: each of its accounts in the export's order, its spec or why it cannot be
    added; and which part of its export it is."""

    accounts: list[AccountSpec | InvalidAccount]
    part: Part


def parse_export_uri(uri: str) -> Export:
    """The accounts of one export URI and its part. Raise InvalidAccount if the URI itself is
    wrong. No message holds a secret."""
    payload = _payload(_data(uri))
    if not payload.otp_parameters:
        raise InvalidAccount("the export holds no accounts")
    return Export([_account(entry) for entry in payload.otp_parameters], _part(payload))


# More missing parts of one export than this are counted, not listed one by one: a damaged or
# forged batch_size could otherwise ask for millions of lines.
MAX_MISSING_LISTED = 10


@dataclass
class _Batch:
    place: str  # where its first part seen is
    size: int
    places: dict[int, str]  # each part's index: where it is


class PartsSeen:
    """The parts of the exports of several URIs, each at its place (e.g. "line 3"), to tell
    whether every export split over several QR codes is there whole: each part once, all
    agreeing on how many there are."""

    def __init__(self) -> None:
        self._batches: dict[int, _Batch] = {}

    def add(self, place: str, part: Part) -> None:
        """Note `part`, found at `place`. Raise InvalidAccount if its export already has this
        part, or was said to have another number of parts."""
        if part.whole:
            return
        batch = self._batches.setdefault(part.batch_id, _Batch(place, part.size, {}))
        if part.size != batch.size:
            raise InvalidAccount(
                f"this says it is {part}, but {batch.place} says its export has {batch.size} "
                "parts; export again"
            )
        if part.index in batch.places:
            raise InvalidAccount(
                f"{part} appears twice (also on {batch.places[part.index]}); remove one"
            )
        batch.places[part.index] = place

    def missing(self) -> list[tuple[str, str]]:
        """(place, problem) for each part missing from an export some other part was added
        of, at that export's first place; in the order the exports were first seen."""
        problems = []
        for batch in self._batches.values():
            count = batch.size - len(batch.places)
            if count > MAX_MISSING_LISTED:
                problems.append(
                    (
                        batch.place,
                        f"{count} of the {batch.size} parts of this export are missing; "
                        "export again, or add the missing parts' URIs",
                    )
                )
                continue
            problems += [
                (
                    batch.place,
                    f"part {index + 1} of {batch.size} of this export is missing; export again, "
                    "or add the missing part's URI",
                )
                for index in range(batch.size)
                if index not in batch.places
            ]
        return problems


def _data(uri: str) -> bytes:
    """The payload bytes of the URI's data parameter."""
    uri = uri.strip()
    if len(uri) > MAX_INPUT_CHARS:
        raise InvalidAccount(
            f"the URI is {len(uri)} characters long; an export URI holds at most {MAX_INPUT_CHARS}"
        )
    if not (uri.isascii() and uri.isprintable()):
        # Percent-encoded base64 is printable ASCII; anything else is not an export.
        raise InvalidAccount("the URI holds characters no export has (controls or non-ASCII)")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidAccount(_EXPECTED) from None
    if parts.scheme.lower() == "otpauth":
        raise InvalidAccount(f"an otpauth:// URI, not an export; {_EXPECTED}")
    if parts.scheme.lower() != SCHEME or parts.netloc.lower() != HOST:
        raise InvalidAccount(_EXPECTED)
    # Split by hand, not with parse_qsl: that reads "+" as a space, and base64 is full of "+"
    # wherever an exporter did not percent-encode it.
    values = [value for key, _, value in _pairs(parts.query) if key == "data"]
    if not values:
        raise InvalidAccount("the URI has no data parameter")
    if len(values) > 1:
        raise InvalidAccount("the data parameter is given more than once")
    try:
        text = unquote(values[0], errors="strict")
    except UnicodeDecodeError:
        raise InvalidAccount("the data parameter is not valid base64") from None
    if not text:
        raise InvalidAccount("the data parameter is empty")
    try:
        # Some exporters drop the "=" padding; none is lost by putting it back.
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidAccount("the data parameter is not valid base64") from None


def _pairs(query: str):
    return (pair.partition("=") for pair in query.split("&") if pair)


def _payload(data: bytes):
    try:
        return MigrationPayload.FromString(data)
    except message.DecodeError:
        raise InvalidAccount(
            "the data is not a Google Authenticator export (truncated or damaged)"
        ) from None


def _part(payload) -> Part:
    part = Part(payload.batch_id, payload.batch_size, payload.batch_index)
    if part.size < 0:
        raise InvalidAccount(
            f"the export's number of parts is negative (got {part.size}); export again"
        )
    if not (part.whole or 0 <= part.index < part.size):
        raise InvalidAccount(f"this says it is {part}, which cannot be; export again")
    return part


def _account(entry) -> AccountSpec | InvalidAccount:
    try:
        return _spec(entry)
    except InvalidAccount as refused:
        return refused


def _spec(entry) -> AccountSpec:
    if entry.type == _HOTP:
        raise InvalidAccount("HOTP (counter-based) entries are not supported; only TOTP")
    # Unset or unknown: the codes could be counter-based, and would then never match.
    if entry.type == _UNSET:
        raise InvalidAccount("the entry's type is not set; only TOTP entries are supported")
    if entry.type != _TOTP:
        raise InvalidAccount(
            f"the entry's type is unknown (got {entry.type}); only TOTP entries are supported"
        )
    if entry.algorithm not in _ALGORITHMS:
        raise InvalidAccount(f"unknown algorithm (got {entry.algorithm})")
    if entry.digits not in _DIGITS:
        raise InvalidAccount(f"unknown digit count (got {entry.digits})")
    return account_spec(
        base64.b32encode(entry.secret).decode(),
        label=entry.name,
        issuer=entry.issuer,
        algorithm=_ALGORITHMS[entry.algorithm],  # MD5 is refused there, as in a URI
        digits=_DIGITS[entry.digits],
        period=PERIOD,
    )
