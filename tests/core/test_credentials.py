"""Key ids, signatures and timestamp freshness."""

import hashlib
import hmac

import pytest

from otp.core.credentials import (
    constant_time_equal,
    key_id,
    signature_matches,
    timestamp_is_fresh,
    timestamp_signature,
)


def test_signature_is_hex_hmac_sha256_of_the_timestamp_keyed_by_the_api_key():
    expected = hmac.new(b"k" * 20, b"1700000000", hashlib.sha256).hexdigest()
    assert timestamp_signature("k" * 20, "1700000000") == expected
    assert signature_matches("k" * 20, "1700000000", expected)
    assert not signature_matches("k" * 20, "1700000001", expected)


def test_key_id_is_the_first_16_hex_of_sha256():
    assert key_id("abc") == hashlib.sha256(b"abc").hexdigest()[:16]


def test_key_comparison_handles_non_ascii_without_raising():
    assert not constant_time_equal("ключ", "test-api-key-0123456789abcdef")
    assert constant_time_equal("ключ", "ключ")


@pytest.mark.parametrize(
    ("timestamp", "fresh"),
    [
        ("1000", True),
        ("970", True),
        ("1030", True),
        ("969", False),
        ("1031", False),
        ("", False),
        ("-1000", False),
        ("1e3", False),
        ("\uff11\uff10\uff10\uff10", False),  # full-width digits
        ("1" * 13, False),
    ],
)
def test_timestamp_freshness_is_symmetric_and_strict(timestamp, fresh):
    assert timestamp_is_fresh(timestamp, now=1000, max_skew=30) is fresh
