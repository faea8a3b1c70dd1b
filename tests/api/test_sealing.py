"""Sealing of stored secrets: round trips, key rotation, tampering and the stored format."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from otp.sealing import (
    KEY_TAG_LABEL,
    CannotOpen,
    NoEncryptionKey,
    open_sealed,
    seal,
    sealed_with_first_key,
)

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(100, 132))
UNKNOWN_KEY = b"\x7f" * 32
PLAINTEXT = b"JBSWY3DPEHPK3PXP-plaintext-secret"
CONTEXT = "account:github-bot"


def _flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def test_a_sealed_value_opens_to_the_plaintext():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    assert PLAINTEXT not in sealed
    assert open_sealed(sealed, CONTEXT, keys=[NEW_KEY]) == PLAINTEXT


def test_an_empty_plaintext_round_trips():
    assert open_sealed(seal(b"", CONTEXT, keys=[NEW_KEY]), CONTEXT, keys=[NEW_KEY]) == b""


def test_the_stored_format_is_version_key_tag_nonce_then_gcm_ciphertext():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY, OLD_KEY])
    assert len(sealed) == 1 + 8 + 12 + len(PLAINTEXT) + 16
    assert sealed[0] == 0x01
    assert sealed[1:9] == hashlib.sha256(KEY_TAG_LABEL + NEW_KEY).digest()[:8]
    # Anyone holding the key can open it from the documented layout alone.
    assert AESGCM(NEW_KEY).decrypt(sealed[9:21], sealed[21:], CONTEXT.encode()) == PLAINTEXT


def test_the_key_tag_names_the_key_without_containing_it():
    old_tag = seal(PLAINTEXT, CONTEXT, keys=[OLD_KEY])[1:9]
    assert seal(b"other", "other", keys=[OLD_KEY])[1:9] == old_tag
    assert seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])[1:9] != old_tag
    assert old_tag not in OLD_KEY


def test_the_first_key_seals():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY, OLD_KEY])
    assert open_sealed(sealed, CONTEXT, keys=[NEW_KEY]) == PLAINTEXT
    with pytest.raises(CannotOpen):
        open_sealed(sealed, CONTEXT, keys=[OLD_KEY])


def test_after_rotation_the_old_key_still_opens_what_it_sealed():
    sealed_before_rotation = seal(PLAINTEXT, CONTEXT, keys=[OLD_KEY])
    assert open_sealed(sealed_before_rotation, CONTEXT, keys=[NEW_KEY, OLD_KEY]) == PLAINTEXT


def test_a_value_sealed_under_a_key_no_longer_configured_cannot_be_opened():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[OLD_KEY])
    with pytest.raises(CannotOpen):
        open_sealed(sealed, CONTEXT, keys=[NEW_KEY, UNKNOWN_KEY])


def test_the_key_tag_decides_which_key_is_tried():
    # A forged tag must not be rescued by trying every configured key in turn.
    sealed = seal(PLAINTEXT, CONTEXT, keys=[OLD_KEY])
    with pytest.raises(CannotOpen):
        open_sealed(_flip(sealed, 3), CONTEXT, keys=[OLD_KEY])


def test_a_key_listed_twice_still_opens():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[OLD_KEY])
    assert open_sealed(sealed, CONTEXT, keys=[OLD_KEY, OLD_KEY]) == PLAINTEXT


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: _flip(s, 21), id="first-ciphertext-byte"),
        pytest.param(lambda s: _flip(s, len(s) - 1), id="last-gcm-tag-byte"),
        pytest.param(lambda s: _flip(s, 9), id="first-nonce-byte"),
        pytest.param(lambda s: _flip(s, 20), id="last-nonce-byte"),
        pytest.param(lambda s: b"\x02" + s[1:], id="version-2"),
        pytest.param(lambda s: b"\x00" + s[1:], id="version-0"),
        pytest.param(lambda s: s[:-1], id="last-byte-cut"),
        pytest.param(lambda s: s[:37], id="cut-to-minimum-length"),
        pytest.param(lambda s: s[:36], id="shorter-than-header-and-gcm-tag"),
        pytest.param(lambda s: s[:21], id="header-only"),
        pytest.param(lambda s: s[:15], id="inside-nonce"),
        pytest.param(lambda s: s[:9], id="version-and-key-tag-only"),
        pytest.param(lambda s: s[:5], id="inside-key-tag"),
        pytest.param(lambda s: s[:1], id="version-only"),
        pytest.param(lambda s: b"", id="empty"),
        pytest.param(lambda s: s + b"\x00", id="byte-appended"),
    ],
)
def test_an_altered_or_malformed_value_cannot_be_opened(tamper):
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY, OLD_KEY])
    with pytest.raises(CannotOpen):
        open_sealed(tamper(sealed), CONTEXT, keys=[NEW_KEY, OLD_KEY])


@pytest.mark.parametrize("other_context", ["account:other-bot", "account:github-bot ", "", "key:x"])
def test_a_value_copied_to_another_record_cannot_be_opened(other_context):
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    with pytest.raises(CannotOpen):
        open_sealed(sealed, other_context, keys=[NEW_KEY])


def test_sealing_the_same_plaintext_twice_gives_different_values():
    first = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    second = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    assert first[9:21] != second[9:21]
    assert first != second


def test_sealing_without_a_key_raises_no_encryption_key():
    with pytest.raises(NoEncryptionKey) as raised:
        seal(PLAINTEXT, CONTEXT, keys=[])
    assert "OTP_ENCRYPTION_KEYS" in str(raised.value)
    assert "openssl rand -base64 32" in str(raised.value)
    assert PLAINTEXT.decode() not in str(raised.value)


def test_opening_without_a_key_raises_cannot_open():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    with pytest.raises(CannotOpen):
        open_sealed(sealed, CONTEXT, keys=[])


def test_cannot_open_names_the_setting_and_reveals_no_data():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    with pytest.raises(CannotOpen) as raised:
        open_sealed(sealed, CONTEXT, keys=[OLD_KEY])
    message = str(raised.value)
    assert "OTP_ENCRYPTION_KEYS" in message
    for secret in (PLAINTEXT.decode(), CONTEXT, sealed.hex(), OLD_KEY.hex(), NEW_KEY.hex()):
        assert secret not in message
    assert base64.b64encode(NEW_KEY).decode() not in message


def test_every_cause_of_cannot_open_has_the_same_message():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    messages = set()
    for value, context, keys in [
        (sealed, CONTEXT, [OLD_KEY]),
        (sealed, "account:other", [NEW_KEY]),
        (_flip(sealed, 30), CONTEXT, [NEW_KEY]),
        (b"", CONTEXT, [NEW_KEY]),
    ]:
        with pytest.raises(CannotOpen) as raised:
            open_sealed(value, context, keys=keys)
        messages.add(str(raised.value))
    assert len(messages) == 1


def test_sealed_with_first_key_tells_which_key_sealed_a_value():
    sealed_by_old = seal(PLAINTEXT, CONTEXT, keys=[OLD_KEY])
    assert sealed_with_first_key(sealed_by_old, keys=[OLD_KEY, NEW_KEY])
    assert not sealed_with_first_key(sealed_by_old, keys=[NEW_KEY, OLD_KEY])
    plaintext = open_sealed(sealed_by_old, CONTEXT, keys=[NEW_KEY, OLD_KEY])
    resealed = seal(plaintext, CONTEXT, keys=[NEW_KEY, OLD_KEY])
    assert sealed_with_first_key(resealed, keys=[NEW_KEY, OLD_KEY])


@pytest.mark.parametrize(
    "value", [b"", b"\x01", b"\x02" + b"\x00" * 40], ids=["empty", "short", "unknown-version"]
)
def test_sealed_with_first_key_is_false_for_malformed_values(value):
    assert not sealed_with_first_key(value, keys=[NEW_KEY])


def test_sealed_with_first_key_is_false_without_keys():
    assert not sealed_with_first_key(seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY]), keys=[])


def test_a_memoryview_from_the_database_is_accepted():
    sealed = seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY])
    assert open_sealed(memoryview(sealed), CONTEXT, keys=[NEW_KEY]) == PLAINTEXT
    assert sealed_with_first_key(memoryview(sealed), keys=[NEW_KEY])
    with pytest.raises(CannotOpen):
        open_sealed(memoryview(b""), CONTEXT, keys=[NEW_KEY])


def test_a_key_of_the_wrong_length_is_refused_rather_than_used_as_aes_128():
    with pytest.raises(ValueError, match="32 bytes"):
        seal(PLAINTEXT, CONTEXT, keys=[b"\x01" * 16])


def test_keys_default_to_the_setting_read_at_call_time(settings):
    settings.OTP_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    sealed = seal(PLAINTEXT, CONTEXT)
    assert open_sealed(sealed, CONTEXT, keys=[NEW_KEY]) == PLAINTEXT
    assert open_sealed(sealed, CONTEXT) == PLAINTEXT
    assert sealed_with_first_key(sealed)

    settings.OTP_ENCRYPTION_KEYS = [OLD_KEY]
    assert not sealed_with_first_key(sealed)
    with pytest.raises(CannotOpen):
        open_sealed(sealed, CONTEXT)


def test_an_empty_setting_means_no_key(settings):
    settings.OTP_ENCRYPTION_KEYS = []
    with pytest.raises(NoEncryptionKey):
        seal(PLAINTEXT, CONTEXT)
    with pytest.raises(CannotOpen):
        open_sealed(seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY]), CONTEXT)
    assert not sealed_with_first_key(seal(PLAINTEXT, CONTEXT, keys=[NEW_KEY]))
