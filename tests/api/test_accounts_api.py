"""The account endpoints seen by an all-access key: the list, each account's own code parameters,
one-time use per account, and account names that cannot exist."""

import base64
import hmac
import struct
from urllib.parse import quote

import pytest
from rest_framework import status

from otp.core import totp
from otp.models import AcceptedStep
from tests.conftest import FROZEN_AT
from tests.support.factories import add_account
from tests.support.signing import v1_headers, wsgi

DEFAULT_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # OTP_SECRET in pyproject's test env
ALPHA_SECRET = "MFWHA2DBFVQWGY3POVXHILLTMVRXEZLU"  # base32 of b"alpha-account-secret"
BETA_SECRET = "MJSXIYJNMFRWG33VNZ2C243FMNZGK5BB"  # base32 of b"beta-account-secret!"
WIDE_SECRET = "O5UWIZJNMFRWG33VNZ2C243FMNZGK5BB"  # base32 of b"wide-account-secret!"
# RFC 6238 appendix B seeds, as base32.
RFC_SHA256_SEED = base64.b32encode(b"12345678901234567890123456789012").decode()
RFC_SHA512_SEED = base64.b32encode(b"1234567890" * 6 + b"1234").decode()
NOT_FOUND = {"error": "Account not found"}


def reference_code(secret, at, algorithm="SHA1", digits=6, period=30):
    """RFC 6238 written out here, so the service is not checked against its own arithmetic."""
    key = base64.b32decode(secret)
    mac = hmac.new(key, struct.pack(">Q", at // period), algorithm.lower()).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def verify(client, name, code):
    return client.post(f"/accounts/{name}/otp/verify", {"otp": code}, format="json")


@pytest.fixture
def accounts():
    add_account("alpha", ALPHA_SECRET, issuer="Alpha Inc")
    add_account("beta", BETA_SECRET)
    add_account("wide", WIDE_SECRET, algorithm="SHA512", digits=8, period=60)


def test_an_environment_key_lists_default_first_then_every_account(authed, accounts):
    response = authed.get("/accounts")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "accounts": [
            {
                "name": "default",
                "issuer": "",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "exclusive": False,
            },
            {
                "name": "alpha",
                "issuer": "Alpha Inc",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "exclusive": False,
            },
            {
                "name": "beta",
                "issuer": "",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "exclusive": False,
            },
            {
                "name": "wide",
                "issuer": "",
                "algorithm": "SHA512",
                "digits": 8,
                "period": 60,
                "exclusive": False,
            },
        ]
    }


def test_with_no_accounts_added_the_list_holds_only_default(authed):
    assert [row["name"] for row in authed.get("/accounts").json()["accounts"]] == ["default"]


def test_no_account_response_shows_a_secret(authed, accounts, frozen_clock):
    code = authed.get("/accounts/alpha/otp").json()["otp"]
    bodies = [
        authed.get("/accounts").content,
        authed.get("/accounts/alpha/otp").content,
        authed.get("/accounts/wide/otp").content,
        verify(authed, "alpha", code).content,
        authed.get("/accounts/nope/otp").content,
    ]
    for body in bodies:
        for secret in (DEFAULT_SECRET, ALPHA_SECRET, BETA_SECRET, WIDE_SECRET):
            assert secret.encode() not in body
            assert secret.lower().encode() not in body
            assert base64.b32decode(secret) not in body


def test_account_code_uses_its_algorithm_digits_and_period(authed, accounts, frozen_clock):
    response = authed.get("/accounts/wide/otp")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "otp": reference_code(WIDE_SECRET, FROZEN_AT, "SHA512", 8, 60),
        "valid_for_seconds": 40,  # FROZEN_AT is 20 s into its 60-second window
        "timestamp": FROZEN_AT,
    }


@pytest.mark.parametrize(
    ("at", "left"), [(1_699_999_980, 60), (1_700_000_039, 1), (1_700_000_040, 60)]
)
def test_valid_for_seconds_counts_down_the_accounts_own_period(
    authed, accounts, frozen_clock, at, left
):
    frozen_clock.at = at
    body = authed.get("/accounts/wide/otp").json()
    assert body["valid_for_seconds"] == left
    assert body["otp"] == reference_code(WIDE_SECRET, at, "SHA512", 8, 60)


def test_an_sha1_account_code_matches_the_reference(authed, accounts, frozen_clock):
    body = authed.get("/accounts/alpha/otp").json()
    assert body == {
        "otp": reference_code(ALPHA_SECRET, FROZEN_AT),
        "valid_for_seconds": 10,
        "timestamp": FROZEN_AT,
    }


@pytest.mark.parametrize(
    ("at", "sha256", "sha512"),
    [
        (59, "46119246", "90693936"),
        (1111111109, "68084774", "25091201"),
        (1111111111, "67062674", "99943326"),
        (1234567890, "91819424", "93441116"),
        (2000000000, "90698825", "38618901"),
        (20000000000, "77737706", "47863826"),
    ],
)
def test_rfc6238_vectors_through_the_api(authed, frozen_clock, at, sha256, sha512):
    add_account("rfc-sha256", RFC_SHA256_SEED, algorithm="SHA256", digits=8, period=30)
    add_account("rfc-sha512", RFC_SHA512_SEED, algorithm="SHA512", digits=8, period=30)
    frozen_clock.at = at
    assert authed.get("/accounts/rfc-sha256/otp").json()["otp"] == sha256
    assert authed.get("/accounts/rfc-sha512/otp").json()["otp"] == sha512


@pytest.mark.parametrize("offset", [-60, 0, 60])
def test_verify_accepts_the_neighbouring_windows_of_the_accounts_period(
    authed, accounts, frozen_clock, offset
):
    code = reference_code(WIDE_SECRET, FROZEN_AT + offset, "SHA512", 8, 60)
    response = verify(authed, "wide", code)
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"valid": True, "timestamp": FROZEN_AT}


@pytest.mark.parametrize("offset", [-120, 120])
def test_verify_refuses_codes_two_of_the_accounts_windows_away(
    authed, accounts, frozen_clock, offset
):
    code = reference_code(WIDE_SECRET, FROZEN_AT + offset, "SHA512", 8, 60)
    assert verify(authed, "wide", code).json() == {"valid": False, "timestamp": FROZEN_AT}


def test_an_eight_digit_account_refuses_six_of_its_digits(authed, accounts, frozen_clock):
    code = reference_code(WIDE_SECRET, FROZEN_AT, "SHA512", 8, 60)
    assert verify(authed, "wide", code[2:]).json()["valid"] is False
    assert verify(authed, "wide", code[:6]).json()["valid"] is False
    assert verify(authed, "wide", code).json()["valid"] is True


def test_an_account_code_verifies_once(authed, accounts, frozen_clock):
    code = authed.get("/accounts/alpha/otp").json()["otp"]
    assert verify(authed, "alpha", code).json() == {"valid": True, "timestamp": FROZEN_AT}
    assert verify(authed, "alpha", code).json() == {"valid": False, "timestamp": FROZEN_AT}
    frozen_clock.at += 5
    assert verify(authed, "alpha", code).json()["valid"] is False


def test_an_older_code_is_refused_once_a_newer_one_was_accepted(authed, accounts, frozen_clock):
    newer = reference_code(ALPHA_SECRET, FROZEN_AT)
    older = reference_code(ALPHA_SECRET, FROZEN_AT - 30)
    assert verify(authed, "alpha", newer).json()["valid"] is True
    assert verify(authed, "alpha", older).json()["valid"] is False


def test_using_a_code_on_one_account_leaves_another_account_untouched(
    authed, accounts, frozen_clock
):
    alpha = authed.get("/accounts/alpha/otp").json()["otp"]
    beta = authed.get("/accounts/beta/otp").json()["otp"]
    assert alpha != beta
    assert verify(authed, "alpha", alpha).json()["valid"] is True
    assert verify(authed, "beta", beta).json()["valid"] is True
    assert AcceptedStep.objects.count() == 2


def test_one_accounts_code_is_not_valid_on_another(authed, accounts, frozen_clock):
    alpha = authed.get("/accounts/alpha/otp").json()["otp"]
    assert verify(authed, "beta", alpha).json()["valid"] is False
    # ...and trying it there did not use it up where it belongs.
    assert verify(authed, "alpha", alpha).json()["valid"] is True


def test_two_accounts_holding_one_secret_share_its_one_time_use(authed, accounts, frozen_clock):
    # The one-time mark is keyed by the secret's fingerprint and parameters, not the account's
    # name (otp/codes.py _check): the same code is the same credential wherever it is held.
    add_account("alpha-copy", ALPHA_SECRET)
    code = authed.get("/accounts/alpha/otp").json()["otp"]
    assert authed.get("/accounts/alpha-copy/otp").json()["otp"] == code
    assert verify(authed, "alpha", code).json()["valid"] is True
    assert verify(authed, "alpha-copy", code).json()["valid"] is False


def test_one_secret_with_other_parameters_is_used_independently(authed, frozen_clock):
    add_account("six", ALPHA_SECRET)
    add_account("eight", ALPHA_SECRET, digits=8)
    assert verify(authed, "six", reference_code(ALPHA_SECRET, FROZEN_AT)).json()["valid"] is True
    eight = reference_code(ALPHA_SECRET, FROZEN_AT, digits=8)
    assert verify(authed, "eight", eight).json()["valid"] is True


def test_default_through_the_account_path_is_the_otp_secret_account(authed, frozen_clock):
    through_accounts = authed.get("/accounts/default/otp")
    original = authed.get("/otp")
    assert through_accounts.status_code == status.HTTP_200_OK
    assert through_accounts.json() == original.json()
    assert original.json()["otp"] == reference_code(DEFAULT_SECRET, FROZEN_AT)


def test_a_code_used_on_otp_verify_is_spent_for_the_default_account_path(authed, frozen_clock):
    code = authed.get("/otp").json()["otp"]
    assert authed.post("/otp/verify", {"otp": code}, format="json").json()["valid"] is True
    assert verify(authed, "default", code).json()["valid"] is False


def test_the_original_endpoints_keep_their_exact_bodies(authed, api_key, frozen_clock):
    otp = authed.get("/otp")
    assert otp.json() == {
        "otp": reference_code(DEFAULT_SECRET, FROZEN_AT),
        "valid_for_seconds": 10,
        "timestamp": FROZEN_AT,
    }
    secure = authed.get("/otp/secure", **wsgi(v1_headers(api_key)))
    assert secure.json() == otp.json()
    checked = authed.post("/otp/verify", {"otp": otp.json()["otp"]}, format="json")
    assert checked.json() == {"valid": True, "timestamp": FROZEN_AT}


# Names no account can have, as they arrive in the path: each must be the plain "no such
# account" answer, never a 500 and never a different body.
MALFORMED_NAMES = [
    "UPPER",
    "Alpha",
    "a" * 65,
    "..",
    "%2e%2e",
    ".",
    "-alpha",
    ".alpha",
    "_alpha",
    "alpha%20",
    "%20alpha",
    "alpha%0A",
    "alpha%00",
    "%00",
    quote("café"),
    quote("\uff41lpha"),  # fullwidth a
    quote("alpha\u200b"),  # zero-width space
    quote("\u202ealpha"),  # right-to-left override
    quote("ǅ"),
    "alpha%25",
    "%ff%fe",
    "alpha;x",
    "alpha%3F",
    "alpha%23",
    "*",
]


@pytest.mark.parametrize("name", MALFORMED_NAMES)
def test_a_malformed_account_name_is_the_same_404_as_a_missing_account(
    authed, accounts, frozen_clock, name
):
    missing = authed.get("/accounts/nope/otp")
    issue = authed.get(f"/accounts/{name}/otp")
    check = authed.post(f"/accounts/{name}/otp/verify", {"otp": "123456"}, format="json")
    assert missing.status_code == issue.status_code == check.status_code
    assert issue.status_code == status.HTTP_404_NOT_FOUND
    assert missing.json() == issue.json() == check.json() == NOT_FOUND


def test_the_longest_name_is_looked_up_and_one_longer_is_not(authed, frozen_clock):
    add_account("a" * 64, ALPHA_SECRET)
    assert authed.get("/accounts/" + "a" * 64 + "/otp").status_code == status.HTTP_200_OK
    too_long = authed.get("/accounts/" + "a" * 65 + "/otp")
    assert too_long.status_code == status.HTTP_404_NOT_FOUND
    assert too_long.json() == NOT_FOUND


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/alpha%2Fbeta/otp",
        "/accounts/alpha/beta/otp",
        "/accounts//otp",
        "/accounts/alpha/otp/",
        "/accounts/alpha",
        "/accounts/",
        "/accounts/alpha/otp/verify/x",
    ],
)
def test_paths_that_name_no_account_route_are_404_json(authed, accounts, frozen_clock, path):
    response = authed.get(path)
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("name", ["alpha", "nope", "UPPER", "default"])
def test_without_credentials_every_account_path_is_the_same_401(client, accounts, name):
    issue = client.get(f"/accounts/{name}/otp")
    check = client.post(f"/accounts/{name}/otp/verify", {"otp": "123456"}, format="json")
    listing = client.get("/accounts")
    for response in (issue, check, listing):
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert response.json() == {"error": "Invalid or missing API key"}


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"otp": 12345678}', b"{}", b'{"otp": null}', b"", b"[" * 1024],
)
def test_a_body_without_a_string_otp_is_400_on_an_existing_account(
    authed, accounts, frozen_clock, body
):
    response = authed.generic(
        "POST", "/accounts/wide/otp/verify", body, content_type="application/json"
    )
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert set(response.json()) == {"error"}


def test_a_bad_body_for_a_missing_account_is_404_not_400(authed, accounts, frozen_clock):
    response = authed.generic(
        "POST", "/accounts/nope/otp/verify", b"not json", content_type="application/json"
    )
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == NOT_FOUND


def test_account_responses_are_never_cached(authed, accounts, frozen_clock):
    for response in (
        authed.get("/accounts"),
        authed.get("/accounts/alpha/otp"),
        authed.get("/accounts/nope/otp"),
        verify(authed, "alpha", "000000"),
    ):
        assert response["Cache-Control"] == "no-store"


def test_the_reference_code_agrees_with_the_rfc(frozen_clock):
    # Guards the oracle above: RFC 6238 appendix B, SHA1, at 59 s.
    seed = base64.b32encode(b"12345678901234567890").decode()
    assert reference_code(seed, 59, "SHA1", 8) == "94287082"
    assert totp.code_at(seed, 59, totp.Params("SHA1", 8, 30)) == "94287082"


def test_an_account_sealed_under_a_key_this_instance_lacks_is_503_without_a_code(
    authed, settings, frozen_clock
):
    add_account("alpha", ALPHA_SECRET)
    # Another instance sealed it under a newer key this one was not given.
    settings.OTP_ENCRYPTION_KEYS = [bytes([9]) * 32]
    response = authed.get("/accounts/alpha/otp")
    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert response.json() == {"error": "Service unavailable"}
