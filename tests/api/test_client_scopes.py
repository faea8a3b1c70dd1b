"""Clients with keys of their own: which accounts they see, what they may do there, v2 signed
requests, and keys that are revoked or rotated, all in-process with the clock frozen."""

import json

import pytest
from rest_framework import status

from otp import audit, clients
from otp.accounts import add_accounts, remove_account
from otp.core import totp
from otp.core.otpauth import parse_secret_or_uri
from tests.conftest import FROZEN_AT
from tests.support.factories import new_client
from tests.support.signing import v1_headers, v2_headers, wsgi

ALPHA_SECRET = "MFWHA2DBFVQWGY3POVXHILLTMVRXEZLU"
BETA_SECRET = "MJSXIYJNMFRWG33VNZ2C243FMNZGK5BB"
NOT_FOUND = {"error": "Account not found"}
KEY_FAILURE = {"error": "Invalid or missing API key"}
SIGNATURE_FAILURE = {"error": "Invalid or missing request signature"}


@pytest.fixture
def accounts():
    add_accounts(
        [
            ("alpha", parse_secret_or_uri(ALPHA_SECRET, issuer="Alpha Inc")),
            ("beta", parse_secret_or_uri(BETA_SECRET)),
        ],
        audit.operator(),
        FROZEN_AT,
    )


def with_key(api_key):
    return {"HTTP_X_API_KEY": api_key}


def get(client, path, api_key):
    return client.get(path, **with_key(api_key))


def post_code(client, path, api_key, code):
    return client.post(path, {"otp": code}, format="json", **with_key(api_key))


def signed_get(client, path, api_key, timestamp=FROZEN_AT):
    return client.generic(
        "GET", path, **wsgi(v2_headers(api_key, "GET", path, timestamp=timestamp))
    )


def signed_post_code(client, path, api_key, code):
    body = json.dumps({"otp": code}).encode()
    headers = wsgi(v2_headers(api_key, "POST", path, body))
    return client.generic("POST", path, body, content_type="application/json", **headers)


def names(response):
    return [row["name"] for row in response.json()["accounts"]]


# --- what a client sees ---


def test_a_scoped_client_gets_its_account(client, accounts, frozen_clock):
    api_key, _ = new_client("alpha-bot", ["alpha"])
    response = get(client, "/accounts/alpha/otp", api_key)
    assert response.status_code == status.HTTP_200_OK
    assert response.json()["otp"] == totp.code_at(ALPHA_SECRET, FROZEN_AT)


@pytest.mark.parametrize("action", ["issue", "verify"])
def test_an_account_outside_the_scope_is_the_same_404_as_a_missing_one(
    client, accounts, frozen_clock, action
):
    api_key, _ = new_client("alpha-bot", ["alpha"])

    def ask(name):
        if action == "issue":
            return get(client, f"/accounts/{name}/otp", api_key)
        return post_code(client, f"/accounts/{name}/otp/verify", api_key, "123456")

    hidden, missing = ask("beta"), ask("nope")
    assert hidden.status_code == missing.status_code == status.HTTP_404_NOT_FOUND
    assert hidden.content == missing.content
    assert hidden.json() == NOT_FOUND
    assert _headers(hidden) == _headers(missing)


def _headers(response):
    # Everything but the per-request id must be the same, or it tells the two cases apart.
    return {name: value for name, value in response.headers.items() if name != "X-Request-ID"}


def test_a_client_not_granted_default_gets_404_on_the_original_endpoints(
    client, api_key, accounts, frozen_clock
):
    own_key, _ = new_client("alpha-bot", ["alpha"])
    secure = client.get("/otp/secure", **wsgi(v1_headers(own_key)))
    for response in (
        get(client, "/otp", own_key),
        post_code(client, "/otp/verify", own_key, "123456"),
        secure,
        get(client, "/accounts/default/otp", own_key),
    ):
        assert response.status_code == status.HTTP_404_NOT_FOUND
        assert response.json() == NOT_FOUND


def test_a_client_granted_default_uses_the_original_endpoints(client, accounts, frozen_clock):
    own_key, _ = new_client("default-bot", ["default"])
    code = get(client, "/otp", own_key).json()["otp"]
    assert code == totp.code_at("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", FROZEN_AT)
    assert post_code(client, "/otp/verify", own_key, code).json()["valid"] is True
    assert get(client, "/accounts/alpha/otp", own_key).status_code == status.HTTP_404_NOT_FOUND


def test_the_list_shows_only_the_accounts_a_client_may_see(client, accounts):
    only_alpha, _ = new_client("alpha-bot", ["alpha"])
    with_default, _ = new_client("two-bot", ["beta", "default"])
    everything, _ = new_client("all-bot", None)
    assert names(get(client, "/accounts", only_alpha)) == ["alpha"]
    assert names(get(client, "/accounts", with_default)) == ["default", "beta"]
    assert names(get(client, "/accounts", everything)) == ["default", "alpha", "beta"]


def test_the_list_does_not_depend_on_the_actions_a_client_may_do(client, accounts):
    issuer, _ = new_client("issue-bot", ["alpha"], verify=False)
    verifier, _ = new_client("verify-bot", ["alpha"], issue=False)
    assert names(get(client, "/accounts", issuer)) == names(get(client, "/accounts", verifier))
    assert names(get(client, "/accounts", issuer)) == ["alpha"]


def test_an_environment_key_sees_and_does_everything(client, api_key, accounts, frozen_clock):
    assert names(get(client, "/accounts", api_key)) == ["default", "alpha", "beta"]
    code = get(client, "/accounts/beta/otp", api_key).json()["otp"]
    checked = post_code(client, "/accounts/beta/otp/verify", api_key, code)
    assert checked.json() == {"valid": True, "timestamp": FROZEN_AT}


def test_every_key_of_api_keys_is_all_access(client, settings, accounts, frozen_clock):
    second = "second-env-key-0123456789"
    settings.API_KEYS = [*settings.API_KEYS, second]
    assert names(get(client, "/accounts", second)) == ["default", "alpha", "beta"]
    code = get(client, "/accounts/alpha/otp", second).json()["otp"]
    assert post_code(client, "/accounts/alpha/otp/verify", second, code).json()["valid"] is True
    signed_list = signed_get(client, "/accounts", second)
    assert names(signed_list) == ["default", "alpha", "beta"]


def test_a_client_granted_an_account_sees_one_added_later_only_if_all_access(client, accounts):
    scoped, _ = new_client("alpha-bot", ["alpha"])
    everything, _ = new_client("all-bot", None)
    add_accounts([("gamma", parse_secret_or_uri(BETA_SECRET))], audit.operator(), FROZEN_AT)
    assert "gamma" not in names(get(client, "/accounts", scoped))
    assert "gamma" in names(get(client, "/accounts", everything))


# --- what a client may do ---


def test_a_client_that_may_only_issue_gets_403_on_verify(client, accounts, frozen_clock):
    api_key, _ = new_client("issue-bot", ["alpha"], verify=False)
    assert get(client, "/accounts/alpha/otp", api_key).status_code == status.HTTP_200_OK
    code = totp.code_at(ALPHA_SECRET, FROZEN_AT)
    response = post_code(client, "/accounts/alpha/otp/verify", api_key, code)
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert set(response.json()) == {"error"}


def test_a_client_that_may_only_verify_gets_403_on_issue(client, accounts, frozen_clock):
    api_key, _ = new_client("verify-bot", ["alpha"], issue=False)
    response = get(client, "/accounts/alpha/otp", api_key)
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert set(response.json()) == {"error"}
    code = totp.code_at(ALPHA_SECRET, FROZEN_AT)
    assert post_code(client, "/accounts/alpha/otp/verify", api_key, code).json()["valid"] is True


def test_a_refused_verify_does_not_use_up_the_code(client, api_key, accounts, frozen_clock):
    issuer, _ = new_client("issue-bot", ["alpha"], verify=False)
    code = get(client, "/accounts/alpha/otp", issuer).json()["otp"]
    forbidden = post_code(client, "/accounts/alpha/otp/verify", issuer, code)
    assert forbidden.status_code == status.HTTP_403_FORBIDDEN
    assert post_code(client, "/accounts/alpha/otp/verify", api_key, code).json()["valid"] is True


def test_a_missing_action_on_an_invisible_account_is_404_not_403(client, accounts, frozen_clock):
    api_key, _ = new_client("issue-bot", ["alpha"], verify=False)
    response = post_code(client, "/accounts/beta/otp/verify", api_key, "123456")
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == NOT_FOUND


def test_the_403_and_404_bodies_say_no_more_than_the_spec(client, accounts, frozen_clock):
    api_key, _ = new_client("issue-bot", ["alpha"], verify=False)
    issuer_of_nothing, _ = new_client("verify-bot", ["alpha"], issue=False)
    denied_verify = post_code(client, "/accounts/alpha/otp/verify", api_key, "123456")
    denied_issue = get(client, "/accounts/alpha/otp", issuer_of_nothing)
    # One message for either missing action: the body does not name the account, client,
    # action or which grant was missing.
    assert denied_verify.json() == denied_issue.json()
    for response in (denied_verify, denied_issue):
        message = response.json()["error"].lower()
        for word in ("alpha", "bot", "issue", "verify", "scope", "grant"):
            assert word not in message
    hidden = get(client, "/accounts/beta/otp", api_key).json()["error"].lower()
    for word in ("beta", "bot", "scope", "permission", "visible", "exist"):
        assert word not in hidden


@pytest.mark.parametrize("body", [b"not json", b'{"otp": 123456}', b"{}", b""])
def test_a_bad_body_is_judged_only_after_the_account_and_action(
    client, accounts, frozen_clock, body
):
    scoped, _ = new_client("alpha-bot", ["alpha"])
    issuer, _ = new_client("issue-bot", ["alpha"], verify=False)

    def send(api_key, name):
        return client.generic(
            "POST",
            f"/accounts/{name}/otp/verify",
            body,
            content_type="application/json",
            **with_key(api_key),
        )

    assert send(scoped, "beta").status_code == status.HTTP_404_NOT_FOUND
    assert send(scoped, "beta").json() == NOT_FOUND
    assert send(issuer, "alpha").status_code == status.HTTP_403_FORBIDDEN
    assert send(scoped, "alpha").status_code == status.HTTP_400_BAD_REQUEST
    no_credentials = client.generic(
        "POST", "/accounts/alpha/otp/verify", body, content_type="application/json"
    )
    assert no_credentials.status_code == status.HTTP_401_UNAUTHORIZED


# --- v2 signed requests from clients ---


def test_a_client_signs_requests_with_its_own_key(client, accounts, frozen_clock):
    api_key, _ = new_client("alpha-bot", ["alpha"])
    issued = signed_get(client, "/accounts/alpha/otp", api_key)
    assert issued.status_code == status.HTTP_200_OK
    code = issued.json()["otp"]
    assert code == totp.code_at(ALPHA_SECRET, FROZEN_AT)
    checked = signed_post_code(client, "/accounts/alpha/otp/verify", api_key, code)
    assert checked.json() == {"valid": True, "timestamp": FROZEN_AT}
    assert names(signed_get(client, "/accounts", api_key)) == ["alpha"]


def test_a_signed_request_is_held_to_the_clients_scope(client, accounts, frozen_clock):
    api_key, _ = new_client("alpha-bot", ["alpha"], verify=False)
    hidden = signed_get(client, "/accounts/beta/otp", api_key)
    assert hidden.status_code == status.HTTP_404_NOT_FOUND
    assert hidden.json() == NOT_FOUND
    denied = signed_post_code(client, "/accounts/alpha/otp/verify", api_key, "123456")
    assert denied.status_code == status.HTTP_403_FORBIDDEN


def test_a_client_signature_made_with_another_clients_key_is_401(client, accounts, frozen_clock):
    mine, _ = new_client("alpha-bot", ["alpha"])
    _, theirs_id = new_client("beta-bot", ["beta"])
    headers = {**wsgi(v2_headers(mine, "GET", "/accounts/beta/otp")), "HTTP_X_KEY_ID": theirs_id}
    response = client.generic("GET", "/accounts/beta/otp", **headers)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == SIGNATURE_FAILURE


def test_a_client_that_must_sign_is_refused_its_key_and_accepted_signed(
    client, accounts, frozen_clock
):
    api_key, _ = new_client("signing-bot", ["alpha", "default"], signature=True)
    plain = get(client, "/accounts/alpha/otp", api_key)
    assert plain.status_code == status.HTTP_401_UNAUTHORIZED
    assert plain.json() == KEY_FAILURE
    assert get(client, "/accounts", api_key).status_code == status.HTTP_401_UNAUTHORIZED
    v1_secure = client.get("/otp/secure", **wsgi(v1_headers(api_key)))
    assert v1_secure.status_code == status.HTTP_401_UNAUTHORIZED
    both = client.generic(
        "GET",
        "/accounts/alpha/otp",
        **wsgi(v2_headers(api_key, "GET", "/accounts/alpha/otp")),
        **with_key(api_key),
    )
    assert both.status_code == status.HTTP_401_UNAUTHORIZED
    v2 = signed_get(client, "/accounts/alpha/otp", api_key)
    assert v2.status_code == status.HTTP_200_OK
    assert signed_get(client, "/otp/secure", api_key).status_code == status.HTTP_200_OK


# --- revocation and rotation ---


def test_a_revoked_client_is_refused_at_once(client, accounts, frozen_clock):
    api_key, _ = new_client("alpha-bot", ["alpha"])
    assert get(client, "/accounts/alpha/otp", api_key).status_code == status.HTTP_200_OK
    clients.revoke_client("alpha-bot", audit.operator(), FROZEN_AT)
    refused = get(client, "/accounts/alpha/otp", api_key)
    assert refused.status_code == status.HTTP_401_UNAUTHORIZED
    assert refused.json() == KEY_FAILURE
    assert get(client, "/accounts", api_key).status_code == status.HTTP_401_UNAUTHORIZED
    signed_refused = signed_get(client, "/accounts/alpha/otp", api_key)
    assert signed_refused.status_code == status.HTTP_401_UNAUTHORIZED
    assert signed_refused.json() == SIGNATURE_FAILURE


def test_revoking_ends_every_key_of_a_client_in_its_grace_period(client, accounts, frozen_clock):
    old_key, _ = new_client("alpha-bot", ["alpha"])
    new_key, _ = clients.rotate_client("alpha-bot", 3600, audit.operator(), FROZEN_AT)
    clients.revoke_client("alpha-bot", audit.operator(), FROZEN_AT + 1)
    frozen_clock.at = FROZEN_AT + 1
    for api_key in (old_key, new_key):
        assert get(client, "/accounts/alpha/otp", api_key).status_code == (
            status.HTTP_401_UNAUTHORIZED
        )


def test_revoking_one_client_leaves_another_working(client, accounts, frozen_clock):
    revoked, _ = new_client("alpha-bot", ["alpha"])
    kept, _ = new_client("beta-bot", ["alpha"])
    clients.revoke_client("alpha-bot", audit.operator(), FROZEN_AT)
    assert get(client, "/accounts/alpha/otp", revoked).status_code == status.HTTP_401_UNAUTHORIZED
    assert get(client, "/accounts/alpha/otp", kept).status_code == status.HTTP_200_OK


@pytest.mark.parametrize("signed_request", [False, True], ids=["x-api-key", "v2"])
def test_a_rotated_key_works_until_the_grace_period_ends(
    client, accounts, frozen_clock, signed_request
):
    def status_with(api_key):
        if signed_request:
            return signed_get(client, "/accounts/alpha/otp", api_key, frozen_clock.at).status_code
        return get(client, "/accounts/alpha/otp", api_key).status_code

    old_key, old_id = new_client("alpha-bot", ["alpha"])
    new_key, new_id = clients.rotate_client("alpha-bot", 300, audit.operator(), FROZEN_AT)
    assert new_id != old_id
    assert new_key != old_key
    frozen_clock.at = FROZEN_AT + 299
    assert status_with(old_key) == status.HTTP_200_OK
    assert status_with(new_key) == status.HTTP_200_OK
    frozen_clock.at = FROZEN_AT + 300
    assert status_with(old_key) == status.HTTP_401_UNAUTHORIZED
    assert status_with(new_key) == status.HTTP_200_OK
    frozen_clock.at = FROZEN_AT + 86_400
    assert status_with(new_key) == status.HTTP_200_OK


def test_rotation_without_grace_ends_the_old_key_at_once(client, accounts, frozen_clock):
    old_key, _ = new_client("alpha-bot", ["alpha"])
    new_key, _ = clients.rotate_client("alpha-bot", 0, audit.operator(), FROZEN_AT)
    assert get(client, "/accounts/alpha/otp", old_key).status_code == status.HTTP_401_UNAUTHORIZED
    assert get(client, "/accounts/alpha/otp", new_key).status_code == status.HTTP_200_OK


def test_a_second_rotation_does_not_extend_the_first_keys_grace(client, accounts, frozen_clock):
    first, _ = new_client("alpha-bot", ["alpha"])
    clients.rotate_client("alpha-bot", 60, audit.operator(), FROZEN_AT)
    third, _ = clients.rotate_client("alpha-bot", 3600, audit.operator(), FROZEN_AT + 10)
    frozen_clock.at = FROZEN_AT + 60
    assert get(client, "/accounts/alpha/otp", first).status_code == status.HTTP_401_UNAUTHORIZED
    assert get(client, "/accounts/alpha/otp", third).status_code == status.HTTP_200_OK


def test_a_rotated_client_keeps_its_scope(client, accounts, frozen_clock):
    new_client("alpha-bot", ["alpha"], verify=False)
    new_key, _ = clients.rotate_client("alpha-bot", 0, audit.operator(), FROZEN_AT)
    assert names(get(client, "/accounts", new_key)) == ["alpha"]
    assert get(client, "/accounts/beta/otp", new_key).status_code == status.HTTP_404_NOT_FOUND
    denied = post_code(client, "/accounts/alpha/otp/verify", new_key, "123456")
    assert denied.status_code == status.HTTP_403_FORBIDDEN


# --- one answer for every refused credential ---


def test_every_refused_key_gets_the_same_401(client, accounts, frozen_clock):
    revoked, _ = new_client("revoked-bot", ["alpha"])
    clients.revoke_client("revoked-bot", audit.operator(), FROZEN_AT)
    expired, _ = new_client("rotated-bot", ["alpha"])
    clients.rotate_client("rotated-bot", 0, audit.operator(), FROZEN_AT)
    must_sign, _ = new_client("signing-bot", ["alpha"], signature=True)
    responses = {
        "no key": client.get("/accounts/alpha/otp"),
        "unknown key": get(client, "/accounts/alpha/otp", "otp_" + "x" * 43),
        "revoked key": get(client, "/accounts/alpha/otp", revoked),
        "expired key": get(client, "/accounts/alpha/otp", expired),
        "key of a client that must sign": get(client, "/accounts/alpha/otp", must_sign),
        "empty key": get(client, "/accounts/alpha/otp", ""),
    }
    for case, response in responses.items():
        assert response.status_code == status.HTTP_401_UNAUTHORIZED, case
        assert response.json() == KEY_FAILURE, case
        assert response["WWW-Authenticate"] == 'ApiKey realm="otp-service"', case


def test_every_refused_signature_gets_the_same_401(client, accounts, frozen_clock):
    revoked, _ = new_client("revoked-bot", ["alpha"])
    clients.revoke_client("revoked-bot", audit.operator(), FROZEN_AT)
    expired, _ = new_client("rotated-bot", ["alpha"])
    clients.rotate_client("rotated-bot", 0, audit.operator(), FROZEN_AT)
    live, _ = new_client("live-bot", ["alpha"])
    path = "/accounts/alpha/otp"
    bad_signature = {**wsgi(v2_headers(live, "GET", path)), "HTTP_X_SIGNATURE": "0" * 64}
    responses = {
        "unknown key id": client.generic(
            "GET", path, **wsgi(v2_headers("otp_" + "y" * 43, "GET", path))
        ),
        "revoked client": signed_get(client, path, revoked),
        "expired key": signed_get(client, path, expired),
        "bad signature": client.generic("GET", path, **bad_signature),
        "stale": signed_get(client, path, live, FROZEN_AT - 31),
    }
    for case, response in responses.items():
        assert response.status_code == status.HTTP_401_UNAUTHORIZED, case
        assert response.json() == SIGNATURE_FAILURE, case


def test_a_signed_bad_body_for_an_invisible_account_is_404(client, accounts, frozen_clock):
    api_key, _ = new_client("alpha-bot", ["alpha"])
    path, body = "/accounts/beta/otp/verify", b"not json"
    headers = wsgi(v2_headers(api_key, "POST", path, body))
    response = client.generic("POST", path, body, content_type="application/json", **headers)
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == NOT_FOUND


def test_an_unsupported_media_type_is_judged_after_the_account(client, accounts, frozen_clock):
    api_key, _ = new_client("alpha-bot", ["alpha"])

    def send(name):
        return client.generic(
            "POST",
            f"/accounts/{name}/otp/verify",
            b"otp=123456",
            content_type="application/x-www-form-urlencoded",
            **with_key(api_key),
        )

    assert send("beta").status_code == status.HTTP_404_NOT_FOUND
    assert send("alpha").status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE


def test_an_account_added_again_is_not_granted_to_the_removed_ones_clients(client, accounts):
    api_key, _ = new_client("beta-bot", ["alpha", "beta"])
    remove_account("beta", audit.operator(), FROZEN_AT)
    add_accounts([("beta", parse_secret_or_uri(BETA_SECRET))], audit.operator(), FROZEN_AT)
    assert names(get(client, "/accounts", api_key)) == ["alpha"]
    assert get(client, "/accounts/beta/otp", api_key).status_code == status.HTTP_404_NOT_FOUND


def test_when_signing_is_required_a_client_key_alone_is_refused(
    client, accounts, frozen_clock, settings
):
    settings.REQUIRE_SIGNED_REQUESTS = True
    api_key, _ = new_client("alpha-bot", ["alpha"])
    plain = get(client, "/accounts/alpha/otp", api_key)
    assert plain.status_code == status.HTTP_401_UNAUTHORIZED
    assert plain.json() == SIGNATURE_FAILURE
    assert signed_get(client, "/accounts/alpha/otp", api_key).status_code == status.HTTP_200_OK
    assert names(signed_get(client, "/accounts", api_key)) == ["alpha"]
