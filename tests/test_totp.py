"""The TOTP arithmetic: RFC 6238 vectors, windows and secret handling, with time as an argument."""

import pytest

from otp import totp

# RFC 6238 Appendix B, SHA-1 rows. The secret is the ASCII "12345678901234567890"; the RFC prints
# 8-digit codes, and a 6-digit code is the same number mod 10**6, i.e. its last six digits.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "eight_digits"), RFC_VECTORS)
def test_rfc6238_vectors(at, eight_digits):
    assert totp.code_at(RFC_SECRET, at) == eight_digits[-6:]


def test_code_changes_exactly_at_the_window_boundary():
    assert totp.code_at(RFC_SECRET, 1111111110) == totp.code_at(RFC_SECRET, 1111111139)
    assert totp.code_at(RFC_SECRET, 1111111139) != totp.code_at(RFC_SECRET, 1111111140)


@pytest.mark.parametrize(("at", "left"), [(0, 30), (1, 29), (29, 1), (30, 30), (1700000022, 18)])
def test_seconds_left_counts_down_to_the_boundary(at, left):
    assert totp.seconds_left(at) == left


def test_previous_current_and_next_window_match_with_their_step():
    at = 1111111111
    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SECRET, at + offset * 30)
        assert totp.matching_step(RFC_SECRET, code, at) == at // 30 + offset


def test_codes_two_windows_away_do_not_match():
    at = 1111111111
    for offset in (-2, 2):
        code = totp.code_at(RFC_SECRET, at + offset * 30)
        assert totp.matching_step(RFC_SECRET, code, at) is None


@pytest.mark.parametrize(
    "junk",
    ["", "12345", "1234567", "abcdef", " 14050", "١٤٠٥٠٤", "14050\n", "\x00" * 6, "9" * 10_000],
)
def test_malformed_codes_never_match_and_never_raise(junk):
    assert totp.matching_step(RFC_SECRET, junk, 1111111111) is None


def test_unicode_digits_are_not_ascii_digits():
    assert not totp.is_well_formed("१२३४५६")
    assert totp.is_well_formed("123456")


def test_matching_near_the_epoch_skips_negative_steps():
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, 0), 0) == 0


@pytest.mark.parametrize(
    "shown",
    [
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        " gezdgnbvgy3tqojqgezdgnbvgy3tqojq\n",
    ],
)
def test_secrets_are_accepted_as_apps_show_them(shown):
    assert totp.validate_secret(shown) == RFC_SECRET


def test_missing_padding_is_added():
    # 16 characters = 80 bits, the size many sites still issue; 26 characters needs padding.
    assert totp.validate_secret("JBSWY3DPEHPK3PXP") == "JBSWY3DPEHPK3PXP"
    assert totp.validate_secret("JBSWY3DPEHPK3PXPJBSWY3DPEH") == "JBSWY3DPEHPK3PXPJBSWY3DPEH======"


def test_an_80_bit_secret_works_although_pyotp_defaults_to_112():
    assert len(totp.code_at("JBSWY3DPEHPK3PXP", 59)) == 6


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("JBSWY3DPEHPK3PX1", "not valid base32"),
        ("JBSWY3DP-EHPK3PXP", "not valid base32"),
        ("JBSWY3DPEHPK3PX", "72 bits"),
    ],
)
def test_unusable_secrets_are_refused_without_echoing_them(raw, problem):
    with pytest.raises(totp.InvalidSecret) as refused:
        totp.validate_secret(raw)
    assert problem in str(refused.value)
    if raw.strip():
        assert raw not in str(refused.value)
