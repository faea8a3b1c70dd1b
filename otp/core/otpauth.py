"""Parse what people hold when they add a TOTP account: an otpauth://totp/ URI or a bare secret."""

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from otp.core import totp
from otp.core.names import RESERVED_NAMES, TEXT_LIMIT, InvalidAccount

# A QR code holds under 3 KB and real otpauth URIs are a few hundred characters; the cap keeps an
# import file's junk line from costing real work.
MAX_INPUT_CHARS = 2048
# The Key Uri Format's parameters; any other (image, counter on a totp URI, ...) is ignored,
# except one that makes other codes from the same secret: those would never match.
_KNOWN_PARAMETERS = ("secret", "issuer", "algorithm", "digits", "period")
# encoder=steam (Aegis, andOTP, FreeOTP+) asks for Steam Guard's five characters, not digits.
_CODE_CHANGING_PARAMETERS = ("encoder",)
_NOT_RFC_6238 = ", not RFC 6238 digits: not supported (the codes served would never match)"
_URI_START = re.compile(r"otpauth:|[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# A value short and plain enough to quote back: never a whole secret (16+ characters) nor a newline.
_QUOTABLE = re.compile(r"[A-Za-z0-9-]{1,8}")
_NOT_NAME_CHARACTERS = re.compile(r"[^a-z0-9._-]+")
_NAME_START = re.compile(r"^[^a-z0-9]+")
_URI_OPTIONS_REFUSED = "only for a bare secret; the URI sets its own"
_MALFORMED = "the URI is malformed; expected otpauth://totp/LABEL?secret=..."


@dataclass(frozen=True)
class AccountSpec:
    """An account as given by the user: the secret, how it makes codes, and who issued it."""

    secret: str  # normalised base32 (totp.validate_secret)
    params: totp.Params
    issuer: str = ""
    label: str = ""  # the account part of the URI label, "" for a bare secret

    def __repr__(self) -> str:
        # Specs end up in logs, tracebacks and debugger output; the secret must not.
        return (
            f"AccountSpec(secret=<hidden>, params={self.params!r}, "
            f"issuer={self.issuer!r}, label={self.label!r})"
        )


def parse_uri(uri: str) -> AccountSpec:
    """Parse an otpauth://totp/ URI (Google Authenticator's Key Uri Format); else InvalidAccount."""
    uri = _bounded(uri)
    if any(_is_control(char) for char in uri):
        raise InvalidAccount("the URI contains control characters")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidAccount(_MALFORMED) from None
    if parts.scheme.lower() != "otpauth":
        raise InvalidAccount("the URI's scheme must be otpauth (otpauth://totp/...)")
    kind = parts.netloc.lower()
    if kind == "hotp":
        raise InvalidAccount("HOTP (counter-based) URIs are not supported; only otpauth://totp/")
    if kind == "steam":
        raise InvalidAccount(f"otpauth://steam/ URIs are for Steam Guard codes{_NOT_RFC_6238}")
    if kind != "totp":
        raise InvalidAccount(_MALFORMED)
    label = _unquoted_label(parts.path)
    query = _query(parts.query)
    if "secret" not in query:
        raise InvalidAccount("the URI has no secret parameter")
    return account_spec(
        query["secret"],
        label=label,
        issuer=query.get("issuer", ""),
        algorithm=query.get("algorithm", "SHA1"),
        digits=_whole_number("digits", query.get("digits", "6")),
        period=_whole_number("period", query.get("period", "30")),
    )


def account_spec(
    secret: str,
    *,
    label: str,
    issuer: str = "",
    algorithm: str = "SHA1",
    digits: int = 6,
    period: int = 30,
) -> AccountSpec:
    """The account an otpauth label and parameters describe, already decoded from wherever they
    came (a URI, an authenticator's export), checked as a URI's are; else InvalidAccount."""
    label_issuer, account = _split_label(_printable("label", label))
    params = _params(algorithm, digits, period)
    # Google Authenticator shows the issuer parameter when the label's prefix disagrees with it.
    issuer = _printable("issuer", issuer.strip()) or label_issuer
    return AccountSpec(
        _secret(secret), params, _stored("issuer", issuer), _stored("label", account)
    )


def parse_secret_or_uri(
    text: str, *, issuer: str = "", algorithm: str = "SHA1", digits: int = 6, period: int = 30
) -> AccountSpec:
    """Parse an otpauth URI, or a bare base32 secret with the given options; raise InvalidAccount.

    The options describe a bare secret only: with a URI they must stay at their defaults.
    """
    text = _bounded(text)
    if _URI_START.match(text):
        given = _options_given(issuer, algorithm, digits, period)
        if given and text[:8].lower() == "otpauth:":
            raise InvalidAccount(f"{', '.join(given)}: {_URI_OPTIONS_REFUSED}")
        return parse_uri(text)
    params = _params(algorithm, digits, period)
    issuer = _stored("issuer", _printable("issuer", issuer.strip()))
    return AccountSpec(_secret(text), params, issuer)


def suggested_name(spec: AccountSpec) -> str:
    """An account name made from the spec's issuer and label, or InvalidAccount if none can be."""
    issuer, label = _name_part(spec.issuer), _name_part(spec.label)
    # "GitHub" + "github-bot" should not become "github-github-bot".
    if issuer and (label == issuer or _starts_with_word(label, issuer)):
        issuer = ""
    joined = "-".join(part for part in (issuer, label) if part)
    name = _NAME_START.sub("", joined)[:64].rstrip("._-")
    if not name:
        raise InvalidAccount(
            "cannot make an account name from the label; it has no letters or digits, "
            "so give the account a name"
        )
    if name in RESERVED_NAMES:
        raise InvalidAccount(
            f'cannot make an account name from the label; "{name}" is reserved for OTP_SECRET, '
            "so give the account a name"
        )
    return name


def _bounded(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidAccount(
            f"the input is {len(text)} characters long; at most {MAX_INPUT_CHARS} are accepted"
        )
    return text


# Controls (Cc), invisible formatting such as bidi overrides (Cf), line and paragraph separators.
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in _UNPRINTABLE


def _printable(what: str, value: str) -> str:
    # A percent-encoded newline in a label would otherwise split a line of an import report, and
    # a right-to-left override would make a listing show another name than the one stored.
    if any(_is_control(char) for char in value):
        raise InvalidAccount(f"the {what} contains control characters")
    return value


def _stored(what: str, value: str) -> str:
    # Checked here, where each entry of an import file is, so that it is reported with its line.
    if len(value) > TEXT_LIMIT:
        raise InvalidAccount(f"the {what} is longer than {TEXT_LIMIT} characters")
    return value


def _unquoted_label(path: str) -> str:
    # The Key Uri Format allows the label's colon as ':' or '%3A': decoded here, split below.
    try:
        return unquote(path.removeprefix("/"), errors="strict")
    except UnicodeDecodeError:
        raise InvalidAccount("the label is not valid UTF-8 percent-encoding") from None


def _split_label(label: str) -> tuple[str, str]:
    """(issuer prefix, account) from a decoded label such as "GitHub:bot@example.com"."""
    prefix, colon, account = label.partition(":")
    if not colon:
        return "", label.strip()
    return prefix.strip(), account.strip()


def _query(query: str) -> dict[str, str]:
    """The known parameters of a query string, each given at most once."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise InvalidAccount("the URI's parameters are not valid UTF-8 percent-encoding") from None
    found: dict[str, str] = {}
    for key, value in pairs:
        if key.lower() in _CODE_CHANGING_PARAMETERS:
            wanted = "Steam Guard codes" if value.lower() == "steam" else "other codes"
            raise InvalidAccount(f"the URI's {key} parameter asks for {wanted}{_NOT_RFC_6238}")
        if key not in _KNOWN_PARAMETERS:
            continue
        if key in found:
            raise InvalidAccount(f"the {key} parameter is given more than once")
        found[key] = value
    return found


def _secret(raw: str) -> str:
    try:
        return totp.validate_secret(raw)
    except totp.InvalidSecret as invalid:
        raise InvalidAccount(f"secret {invalid}") from None


def _quoted(value: object) -> str:
    """' (got VALUE)' when VALUE is safe to show, else nothing."""
    shown = str(value)
    return f" (got {shown})" if _QUOTABLE.fullmatch(shown) else ""


def _whole_number(what: str, raw: str) -> int:
    # int() alone would also take " 8", "+8", "8_0" and Unicode digits.
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidAccount(f"{what} must be a whole number{_quoted(raw)}")
    return int(raw)


def _params(algorithm: str, digits: int, period: int) -> totp.Params:
    canonical = algorithm.upper() if isinstance(algorithm, str) else ""
    if canonical not in totp.ALGORITHMS:
        raise InvalidAccount(
            f"unsupported algorithm{_quoted(algorithm)}; use {_either(totp.ALGORITHMS)}"
        )
    if digits not in totp.DIGIT_CHOICES:
        raise InvalidAccount(f"digits must be {_either(totp.DIGIT_CHOICES)}{_quoted(digits)}")
    if period not in totp.PERIOD_RANGE:
        first, last = totp.PERIOD_RANGE.start, totp.PERIOD_RANGE.stop - 1
        raise InvalidAccount(f"period must be {first} to {last} seconds{_quoted(period)}")
    return totp.Params(canonical, digits, period)


def _either(choices: tuple) -> str:
    *rest, last = (str(choice) for choice in choices)
    return f"{', '.join(rest)} or {last}"


def _options_given(issuer: str, algorithm: str, digits: int, period: int) -> list[str]:
    default = totp.DEFAULT
    given = {
        "--issuer": issuer.strip() != "",
        "--algorithm": str(algorithm).upper() != default.algorithm,
        "--digits": digits != default.digits,
        "--period": period != default.period,
    }
    return [option for option, differs in given.items() if differs]


def _name_part(text: str) -> str:
    # Fold accents to ASCII first so "Société" gives "societe", not "soci-t-".
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_NAME_CHARACTERS.sub("-", ascii_text.lower())


def _starts_with_word(text: str, word: str) -> bool:
    return text.startswith(word) and not text[len(word)].isalnum()
