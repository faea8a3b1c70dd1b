"""Reading an account import file: one otpauth://totp/ URI a line, optionally after a name."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from otp.core.names import InvalidAccount, check_name
from otp.core.otpauth import AccountSpec, parse_uri, suggested_name

FORMAT_HELP = """\
One account a line, either
    otpauth://totp/LABEL?secret=...
        named after the URI's issuer and label (GitHub + bot@example.com: github-bot-example.com)
or
    NAME otpauth://totp/LABEL?secret=...
        a name of your choosing, whitespace, then the URI.
Blank lines and lines starting with # are skipped. Every line is checked first: if any is
wrong, each wrong line is reported with its number and nothing is stored."""


@dataclass(frozen=True)
class Entry:
    """One account the file asks for."""

    name: str
    spec: AccountSpec


def read_entries(lines: Iterable[str], taken: Collection[str]) -> tuple[list[Entry], list[str]]:
    """(entries, problems): the accounts the lines ask for, and one "line N: ..." for each line
    that is wrong. Names in `taken` already exist. No problem quotes a secret."""
    entries: list[Entry] = []
    problems: list[str] = []
    first_line_of: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            name, spec = _parse_line(text)
        except InvalidAccount as wrong:
            problems.append(f"line {number}: {wrong}")
            continue
        if name in first_line_of:
            problems.append(
                f'line {number}: account "{name}" is also on line {first_line_of[name]}; '
                "give one of them another name (NAME otpauth://...)"
            )
            continue
        first_line_of[name] = number
        if name in taken:
            problems.append(f'line {number}: account "{name}" already exists')
            continue
        entries.append(Entry(name, spec))
    return entries, problems


def _parse_line(text: str) -> tuple[str, AccountSpec]:
    words = text.split(maxsplit=1)
    # A line that starts with a URI is all URI: a pasted label may hold spaces.
    if "://" in words[0] or words[0].lower().startswith("otpauth:"):
        spec = parse_uri(text)
        return suggested_name(spec), spec
    if len(words) == 1:
        raise InvalidAccount("expected an otpauth://totp/ URI, or a name then the URI")
    name, uri = words
    check_name(name)
    return name, parse_uri(uri)
