"""Reading an account import file: otpauth://totp/ URIs, or Google Authenticator's export."""

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from otp.core.google_export import PartsSeen, parse_export_uri
from otp.core.names import InvalidAccount, check_name
from otp.core.otpauth import AccountSpec, parse_uri, suggested_name

FORMAT_HELP = """\
One account a line, either
    otpauth://totp/LABEL?secret=...
        named after the URI's issuer and label (GitHub + bot@example.com: github-bot-example.com)
or
    NAME otpauth://totp/LABEL?secret=...
        a name of your choosing, whitespace, then the URI.
With --google-authenticator, one otpauth-migration://offline?data=... URI a line instead:
Google Authenticator's export (Transfer accounts), each URI one of its QR codes decoded to
text. Each TOTP account in it is named as from an otpauth URI; HOTP accounts, MD5 ones and
names already taken are refused, by line and by their position in it. An export of several
QR codes is imported whole or not at all: every part of it, each once.
Blank lines and lines starting with # are skipped. Every line is checked first: if any is
wrong, each wrong line is reported with its number and nothing is stored."""


@dataclass(frozen=True)
class Entry:
    """One account the file asks for."""

    name: str
    spec: AccountSpec


# What one line asks for: for each account on it, its place on the line ("" when the line is the
# account, ", entry 2" for the second of an export) and the account or why it cannot be had.
Found = list[tuple[str, Entry | InvalidAccount]]


def read_entries(lines: Iterable[str], taken: Collection[str]) -> tuple[list[Entry], list[str]]:
    """(entries, problems): the accounts a file of otpauth URIs asks for, and one "line N: ..."
    for each line that is wrong. Names in `taken` already exist. No problem quotes a secret."""
    return _read(
        lines, taken, _uri_line, rename="give one of them another name (NAME otpauth://...)"
    )


def read_export(lines: Iterable[str], taken: Collection[str]) -> tuple[list[Entry], list[str]]:
    """As read_entries, for a file of Google Authenticator export URIs: a problem of one of a
    line's accounts is reported as "line N, entry K: ...", K its place in the export; a part
    missing from an export of several QR codes as "line N: ...", N the line of its first part."""
    # Every part of an export split over several QR codes must be there, each once. A part given
    # twice is reported as such, not as accounts of the same names.
    parts = PartsSeen()

    def export_line(place: str, text: str) -> Found:
        export = parse_export_uri(text)
        parts.add(place, export.part)
        return [
            (f", entry {position}", _named(account))
            for position, account in enumerate(export.accounts, start=1)
        ]

    # An export cannot say which name it wants: the account has to be renamed in the app.
    entries, problems = _read(
        lines, taken, export_line, rename="rename one in the app and export again"
    )
    # Known only once every line is read; each refuses the import as a wrong line does.
    problems += [f"{place}: {problem}" for place, problem in parts.missing()]
    return entries, problems


def _read(
    lines: Iterable[str],
    taken: Collection[str],
    parse: Callable[[str, str], Found],
    *,
    rename: str,
) -> tuple[list[Entry], list[str]]:
    """`parse` is given a line's place ("line N") and its text."""
    entries: list[Entry] = []
    problems: list[str] = []
    first_place_of: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            found = parse(f"line {number}", text)
        except InvalidAccount as wrong:
            problems.append(f"line {number}: {wrong}")
            continue
        for part, entry in found:
            place = f"line {number}{part}"
            if isinstance(entry, InvalidAccount):
                problems.append(f"{place}: {entry}")
                continue
            if entry.name in first_place_of:
                problems.append(
                    f'{place}: account "{entry.name}" is also on {first_place_of[entry.name]}; '
                    f"{rename}"
                )
                continue
            first_place_of[entry.name] = place
            if entry.name in taken:
                problems.append(f'{place}: account "{entry.name}" already exists')
                continue
            entries.append(entry)
    return entries, problems


def _uri_line(_place: str, text: str) -> Found:
    words = text.split(maxsplit=1)
    # A line that starts with a URI is all URI: a pasted label may hold spaces.
    if "://" in words[0] or words[0].lower().startswith("otpauth:"):
        spec = parse_uri(text)
        return [("", Entry(suggested_name(spec), spec))]
    if len(words) == 1:
        raise InvalidAccount("expected an otpauth://totp/ URI, or a name then the URI")
    name, uri = words
    check_name(name)
    return [("", Entry(name, parse_uri(uri)))]


def _named(account: AccountSpec | InvalidAccount) -> Entry | InvalidAccount:
    if isinstance(account, InvalidAccount):
        return account
    try:
        return Entry(suggested_name(account), account)
    except InvalidAccount as unnamed:
        return unnamed
