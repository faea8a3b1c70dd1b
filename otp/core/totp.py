"""RFC 6238 TOTP arithmetic on pyotp: pure functions, the time is always an argument."""

import base64
import binascii
import functools
import hashlib
import hmac
from dataclasses import dataclass

import pyotp

STEP_SECONDS = 30
DIGITS = 6
ALGORITHMS = ("SHA1", "SHA256", "SHA512")
DIGIT_CHOICES = (6, 8)
PERIOD_RANGE = range(15, 121)
# Many sites still issue 80-bit secrets (16 base32 characters); RFC 4226 allows 128 bits as the
# recommended minimum but 80 as the floor, so refusing them would lock users out of those sites.
MIN_SECRET_BITS = 80


class InvalidSecret(ValueError):
    """The secret is not base32 of MIN_SECRET_BITS or more; the message never holds the secret."""


@dataclass(frozen=True)
class Params:
    """How an account turns its secret into codes (the otpauth URI's algorithm, digits, period)."""

    algorithm: str = "SHA1"
    digits: int = DIGITS
    period: int = STEP_SECONDS

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        if self.digits not in DIGIT_CHOICES:
            raise ValueError("digits must be 6 or 8")
        if self.period not in PERIOD_RANGE:
            raise ValueError(f"period must be {PERIOD_RANGE.start} to {PERIOD_RANGE.stop - 1} s")


# OTP_SECRET's account, and what every authenticator app assumes without being told.
DEFAULT = Params()
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


class _Totp(pyotp.TOTP):
    """pyotp.TOTP that decodes its secret once instead of on every code."""

    min_secret_length_bits = MIN_SECRET_BITS

    def __init__(self, secret: str, params: Params) -> None:
        self.secret = secret
        self._key = pyotp.TOTP.byte_secret(self)  # pyotp's own decode and length check, once
        super().__init__(
            secret,
            digits=params.digits,
            digest=_DIGESTS[params.algorithm],
            interval=params.period,
        )

    def byte_secret(self) -> bytes:
        return self._key


def normalise_secret(raw: str) -> str:
    """Return the secret as canonical base32: no spaces, upper case, '=' padded.

    Authenticator apps and websites show secrets grouped by spaces, in lower case and unpadded.
    """
    compact = "".join(raw.split()).upper().rstrip("=")
    return compact + "=" * (-len(compact) % 8)


def validate_secret(raw: str) -> str:
    """Return the normalised secret, or raise InvalidSecret saying what is wrong with it."""
    secret = normalise_secret(raw)
    if secret == "":
        raise InvalidSecret("is empty")
    try:
        key = base64.b32decode(secret)
    except (binascii.Error, ValueError):
        raise InvalidSecret("is not valid base32 (letters A-Z and digits 2-7)") from None
    if len(key) * 8 < MIN_SECRET_BITS:
        raise InvalidSecret(f"is {len(key) * 8} bits long; at least {MIN_SECRET_BITS} are needed")
    return secret


@functools.lru_cache(maxsize=1024)
def _totp(secret: str, params: Params) -> _Totp:
    # One object per secret per process: building it decodes and checks the secret.
    return _Totp(secret, params)


def fingerprint(secret: str, params: Params = DEFAULT) -> str:
    """A stable name for a secret and its parameters that storage can hold without holding the
    secret (SHA-256 of the decoded key; a secret of 80+ random bits cannot be found from it).

    The default parameters add nothing, so OTP_SECRET keeps the name it always had.
    """
    extra = "" if params == DEFAULT else f"\0{params.algorithm}/{params.digits}/{params.period}"
    key = _totp(secret, params).byte_secret()
    return hashlib.sha256(b"otp-service secret fingerprint\0" + key + extra.encode()).hexdigest()


def time_step(at: int, params: Params = DEFAULT) -> int:
    """The RFC 6238 counter for unix time `at`."""
    return at // params.period


def seconds_left(at: int, params: Params = DEFAULT) -> int:
    """Whole seconds from `at` until the code of its window expires (1 to the period)."""
    return params.period - at % params.period


def fresh_from(at: int, min_validity: int, params: Params = DEFAULT) -> int:
    """The first second at or after `at` whose code stays valid for at least `min_validity`
    seconds: `at` itself, or the start of the next window (1 <= min_validity < the period)."""
    left = seconds_left(at, params)
    return at if left >= min_validity else at + left


def code_at(secret: str, at: int, params: Params = DEFAULT) -> str:
    """The code for unix time `at`."""
    return _totp(secret, params).generate_otp(time_step(at, params))


def is_well_formed(code: str, digits: int = DIGITS) -> bool:
    """True for exactly `digits` ASCII digits (str.isdigit alone also accepts e.g. Devanagari)."""
    return len(code) == digits and code.isascii() and code.isdigit()


def matching_step(
    secret: str, code: str, at: int, params: Params = DEFAULT, window: int = 1
) -> int | None:
    """The time step within `window` steps of `at` whose code equals `code`, or None.

    Never raises on junk input. Every candidate is compared in constant time, without an early
    exit, so the time taken does not depend on which window matched.
    """
    if not is_well_formed(code, params.digits):
        return None
    totp = _totp(secret, params)
    now = time_step(at, params)
    found = None
    for step in range(max(0, now - window), now + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found
