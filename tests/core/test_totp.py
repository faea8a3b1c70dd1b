"""The TOTP arithmetic: RFC 6238 vectors, windows and secret handling, with time as an argument."""

import base64

import pytest

from otp.core import totp

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


# RFC 6238 Appendix B, SHA-256 and SHA-512 rows: each seed is as long as its digest (32 and 64
# ASCII bytes, not the SHA-1 row's 20), so each algorithm has its own secret.
RFC_SHA256_SECRET = base64.b32encode(b"12345678901234567890123456789012").decode()
RFC_SHA512_SECRET = base64.b32encode(
    b"1234567890123456789012345678901234567890123456789012345678901234"
).decode()
RFC_LONG_VECTORS = [
    ("SHA256", 59, "46119246"),
    ("SHA256", 1111111109, "68084774"),
    ("SHA256", 1111111111, "67062674"),
    ("SHA256", 1234567890, "91819424"),
    ("SHA256", 2000000000, "90698825"),
    ("SHA256", 20000000000, "77737706"),
    ("SHA512", 59, "90693936"),
    ("SHA512", 1111111109, "25091201"),
    ("SHA512", 1111111111, "99943326"),
    ("SHA512", 1234567890, "93441116"),
    ("SHA512", 2000000000, "38618901"),
    ("SHA512", 20000000000, "47863826"),
]
RFC_SECRETS = {"SHA256": RFC_SHA256_SECRET, "SHA512": RFC_SHA512_SECRET}
SHA512_EIGHT = totp.Params("SHA512", 8, 30)


@pytest.mark.parametrize(("algorithm", "at", "code"), RFC_LONG_VECTORS)
def test_rfc6238_sha256_and_sha512_vectors_with_eight_digits(algorithm, at, code):
    params = totp.Params(algorithm, 8, 30)
    assert totp.code_at(RFC_SECRETS[algorithm], at, params) == code


def test_eight_digit_sha512_code_matches_its_step():
    assert totp.matching_step(RFC_SHA512_SECRET, "99943326", 1111111111, SHA512_EIGHT) == (
        1111111111 // 30
    )


def test_six_digit_code_never_matches_eight_digit_params():
    # The last six digits of the right 8-digit code: a 6-digit app's answer for the same secret.
    assert totp.matching_step(RFC_SHA512_SECRET, "943326", 1111111111, SHA512_EIGHT) is None


@pytest.mark.parametrize(("at", "left"), [(0, 60), (1, 59), (59, 1), (60, 60), (1700000052, 48)])
def test_seconds_left_counts_down_a_sixty_second_period(at, left):
    assert totp.seconds_left(at, totp.Params(period=60)) == left


def test_a_sixty_second_period_keeps_its_code_for_the_whole_minute():
    params = totp.Params(period=60)
    assert totp.code_at(RFC_SECRET, 1111111080, params) == totp.code_at(
        RFC_SECRET, 1111111139, params
    )
    assert totp.code_at(RFC_SECRET, 1111111139, params) != totp.code_at(
        RFC_SECRET, 1111111140, params
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"algorithm": "MD5"}, "algorithm must be one of SHA1, SHA256, SHA512"),
        ({"algorithm": "sha1"}, "algorithm must be one of"),
        ({"digits": 7}, "digits must be 6 or 8"),
        ({"digits": 10}, "digits must be 6 or 8"),
        ({"period": 14}, "period must be 15 to 120 s"),
        ({"period": 121}, "period must be 15 to 120 s"),
    ],
)
def test_params_refuse_values_outside_what_apps_support(fields, problem):
    with pytest.raises(ValueError, match=problem):
        totp.Params(**fields)


@pytest.mark.parametrize("fields", [{"period": 15}, {"period": 120}, {"digits": 8}])
def test_params_accept_the_edges_of_their_ranges(fields):
    assert totp.Params(**fields) != totp.DEFAULT


def test_fingerprint_differs_between_params_of_one_secret():
    prints = {
        totp.fingerprint(RFC_SECRET, params)
        for params in (
            totp.DEFAULT,
            totp.Params("SHA256"),
            totp.Params("SHA512"),
            totp.Params(digits=8),
            totp.Params(period=60),
        )
    }
    assert len(prints) == 5


def test_default_fingerprint_is_the_same_with_default_params_spelled_out():
    assert totp.fingerprint(RFC_SECRET) == totp.fingerprint(RFC_SECRET, totp.DEFAULT)
    assert totp.fingerprint(RFC_SECRET) == totp.fingerprint(RFC_SECRET, totp.Params("SHA1", 6, 30))
