"""AES-256-GCM sealing of small secrets kept in the database, under OTP_ENCRYPTION_KEYS."""

# A sealed value is laid out as:
#
#     version   1 byte    0x01
#     key tag   8 bytes   SHA-256(KEY_TAG_LABEL + key)[:8]
#     nonce    12 bytes   random, fresh for every seal
#     sealed    n bytes   AES-256-GCM ciphertext of the plaintext, then its 16-byte GCM tag
#
# The key tag lets open_sealed() go straight to the right key and `otp rekey` tell which key
# sealed a value; as a one-way hash of a 32-byte random key it does not reveal the key. The
# associated data is the UTF-8 of the caller's `associated_data` (e.g. "account:github-bot"), so
# a value copied onto another row does not open. The header is not in the associated data, but
# it is checked all the same: a changed version byte is refused, and a changed key tag picks no
# key or the wrong one. The first configured key seals; any configured key opens.

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = 0x01
KEY_TAG_LABEL = b"otp-service sealing key tag v1\x00"
KEY_LENGTH = 32
TAG_LENGTH = 8
NONCE_LENGTH = 12
GCM_TAG_LENGTH = 16
HEADER_LENGTH = 1 + TAG_LENGTH + NONCE_LENGTH
MIN_SEALED_LENGTH = HEADER_LENGTH + GCM_TAG_LENGTH


class NoEncryptionKey(Exception):
    """seal() was called with no key configured."""

    def __init__(
        self,
        message: str = (
            "OTP_ENCRYPTION_KEYS is empty: set it to a base64 key of 32 bytes "
            "(make one with: openssl rand -base64 32)"
        ),
    ):
        super().__init__(message)


class CannotOpen(Exception):
    """A sealed value did not open: its key is not configured, or it or its context changed."""

    # One message for every cause, so it tells an attacker nothing about which check failed.
    def __init__(
        self,
        message: str = (
            "a sealed value cannot be opened with OTP_ENCRYPTION_KEYS: the key that sealed it "
            "is not configured, or the value was altered or belongs to another record"
        ),
    ):
        super().__init__(message)


def key_tag(key: bytes) -> bytes:
    """The 8-byte public name of a key, stored in every value it seals.

    A one-way hash of a 32-byte random key: it identifies the key without revealing it.
    """
    return hashlib.sha256(KEY_TAG_LABEL + key).digest()[:TAG_LENGTH]


def seal(plaintext: bytes, associated_data: str, keys: list[bytes] | None = None) -> bytes:
    """Encrypt and authenticate `plaintext` under the first key, bound to `associated_data`.

    `keys` defaults to settings.OTP_ENCRYPTION_KEYS. Raises NoEncryptionKey if there is none.
    """
    keys = _configured(keys)
    if not keys:
        raise NoEncryptionKey()
    key = keys[0]
    nonce = os.urandom(NONCE_LENGTH)
    ciphertext = _aead(key).encrypt(nonce, plaintext, associated_data.encode())
    return bytes([VERSION]) + key_tag(key) + nonce + ciphertext


def open_sealed(sealed: bytes, associated_data: str, keys: list[bytes] | None = None) -> bytes:
    """The plaintext of a value from seal() with the same `associated_data`.

    `sealed` may be any bytes-like value (PostgreSQL gives a memoryview). `keys` defaults to
    settings.OTP_ENCRYPTION_KEYS. Raises CannotOpen for anything that does not open, including
    malformed or empty input.
    """
    sealed = bytes(sealed)
    keys = _configured(keys)
    if len(sealed) < MIN_SEALED_LENGTH or sealed[0] != VERSION:
        raise CannotOpen()
    tag = sealed[1 : 1 + TAG_LENGTH]
    nonce = sealed[1 + TAG_LENGTH : HEADER_LENGTH]
    ciphertext = sealed[HEADER_LENGTH:]
    # Only keys whose tag matches are tried; normally one. More than one means the same key is
    # listed twice (or a 1-in-2**64 tag collision), and trying each is still correct.
    for key in keys:
        if not hmac.compare_digest(key_tag(key), tag):
            continue
        try:
            return _aead(key).decrypt(nonce, ciphertext, associated_data.encode())
        except InvalidTag:
            continue
    raise CannotOpen()


def sealed_with_first_key(sealed: bytes, keys: list[bytes] | None = None) -> bool:
    """True if `sealed` names the first key as its sealer; False for no keys or malformed input.

    Judged by the key tag alone, without decrypting: a tampered value still fails open_sealed().
    """
    sealed = bytes(sealed)
    keys = _configured(keys)
    if not keys or len(sealed) < MIN_SEALED_LENGTH or sealed[0] != VERSION:
        return False
    return hmac.compare_digest(sealed[1 : 1 + TAG_LENGTH], key_tag(keys[0]))


def _configured(keys: list[bytes] | None) -> list[bytes]:
    # Read per call, never at import, so settings overrides (and tests) take effect.
    return settings.OTP_ENCRYPTION_KEYS if keys is None else keys


def _aead(key: bytes) -> AESGCM:
    # AESGCM would silently accept a 16- or 24-byte key; this module promises AES-256.
    if len(key) != KEY_LENGTH:
        raise ValueError("OTP_ENCRYPTION_KEYS entries must be 32 bytes")
    return AESGCM(key)
