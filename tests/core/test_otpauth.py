"""Parsing otpauth://totp/ URIs and bare secrets into accounts, and naming those accounts."""

import pytest

from otp.core import totp
from otp.core.names import InvalidAccount, check_name
from otp.core.otpauth import AccountSpec, parse_secret_or_uri, parse_uri, suggested_name

# Distinctive, so a message that echoes it (or a recognisable part of it) is caught.
SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"
BAD_BASE32 = "N52HALLTMVZHM2LDMUQHGZLLOJUXII1B"  # "1" is not a base32 letter
SHORT = "N52HALLTMVZHM2L"  # 15 characters: 72 bits


def uri(query: str, label: str = "Example:bot@example.com") -> str:
    return f"otpauth://totp/{label}?{query}"


def refusal(parse, text: str, **options) -> str:
    """The InvalidAccount message for `text`, checked to be one line that does not leak a secret."""
    with pytest.raises(InvalidAccount) as refused:
        parse(text, **options)
    message = str(refused.value)
    assert "\n" not in message
    assert "\r" not in message
    for secret in (SECRET, BAD_BASE32, SHORT):
        for leak in (secret, secret.lower(), secret[:12], secret[-12:]):
            assert leak not in message
    return message


# --- URIs that work --------------------------------------------------------------------------


def test_google_authenticator_example_uri():
    spec = parse_uri(
        "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    )
    assert spec == AccountSpec("JBSWY3DPEHPK3PXP", totp.DEFAULT, "Example", "alice@google.com")


def test_uri_sets_algorithm_digits_and_period():
    spec = parse_uri(
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA512&digits=8&period=60"
    )
    assert spec.params == totp.Params("SHA512", 8, 60)
    assert (spec.issuer, spec.label) == ("ACME Co", "john.doe@email.com")


def test_uri_without_any_issuer_keeps_the_whole_label():
    spec = parse_uri(f"otpauth://totp/alice@google.com?secret={SECRET}")
    assert (spec.issuer, spec.label) == ("", "alice@google.com")


def test_issuer_parameter_alone_names_the_issuer():
    spec = parse_uri(f"otpauth://totp/alice?secret={SECRET}&issuer=Example")
    assert (spec.issuer, spec.label) == ("Example", "alice")


@pytest.mark.parametrize(
    "label",
    ["Example:alice", "Example: alice", "Example%3Aalice", "Example%3A%20alice"],
)
def test_label_prefix_is_the_issuer_with_a_literal_or_encoded_colon(label):
    spec = parse_uri(uri(f"secret={SECRET}", label=label))
    assert (spec.issuer, spec.label) == ("Example", "alice")


def test_issuer_parameter_wins_over_a_different_label_prefix():
    spec = parse_uri(uri(f"secret={SECRET}&issuer=Parameter", label="Prefix:alice"))
    assert (spec.issuer, spec.label) == ("Parameter", "alice")


def test_empty_issuer_parameter_falls_back_to_the_label_prefix():
    spec = parse_uri(uri(f"secret={SECRET}&issuer=", label="Prefix:alice"))
    assert spec.issuer == "Prefix"


def test_percent_encoded_label_is_decoded():
    spec = parse_uri(
        uri(f"secret={SECRET}", label="Soci%C3%A9t%C3%A9%20G%C3%A9n%C3%A9rale:bot%40example.com")
    )
    assert (spec.issuer, spec.label) == ("Société Générale", "bot@example.com")


def test_scheme_type_and_algorithm_are_case_insensitive():
    spec = parse_uri(f"OTPAUTH://TOTP/alice?secret={SECRET}&algorithm=sha256")
    assert spec.params == totp.Params("SHA256", 6, 30)


@pytest.mark.parametrize(
    "shown",
    [
        SECRET.lower(),
        "n52h%20allt%20mvzh%20m2ld%20muqh%20gzll%20ojux%20iijb",
        "n52h+allt+mvzh+m2ld+muqh+gzll+ojux+iijb",
    ],
)
def test_uri_secret_may_be_lower_case_and_spaced(shown):
    assert parse_uri(uri(f"secret={shown}")).secret == SECRET


def test_uri_secret_may_lack_padding():
    spec = parse_uri(uri("secret=JBSWY3DPEHPK3PXPJBSWY3DPEH"))
    assert spec.secret == "JBSWY3DPEHPK3PXPJBSWY3DPEH======"


def test_unknown_parameters_are_ignored_even_when_repeated():
    query = f"secret={SECRET}&image=https%3A%2F%2Fexample.com%2Fa.png&image=x&counter=7&foo="
    assert parse_uri(uri(query)).params == totp.DEFAULT


def test_surrounding_whitespace_is_ignored():
    assert parse_secret_or_uri(f"  {uri(f'secret={SECRET}')}\n").secret == SECRET


def test_a_uri_of_exactly_the_limit_is_accepted():
    base = uri(f"secret={SECRET}&image=")
    spec = parse_uri(base + "x" * (2048 - len(base)))
    assert spec.secret == SECRET


# --- URIs that are refused -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"otpauth://[totp/alice?secret={SECRET}", "the URI is malformed"),
        (f"otpauth:totp/alice?secret={SECRET}", "the URI is malformed"),
        (f"otpauth:///alice?secret={SECRET}", "the URI is malformed"),
        (f"otpauth://totp:80/alice?secret={SECRET}", "the URI is malformed"),
        (f"otpauth://steam/alice?secret={SECRET}", "otpauth://steam/ URIs are for Steam Guard"),
        # Steam Guard codes are five letters from the same secret: served as digits, never a match.
        (
            uri(f"secret={SECRET}&encoder=steam"),
            "the URI's encoder parameter asks for Steam Guard codes, not RFC 6238 digits",
        ),
        (uri(f"encoder=Steam&secret={SECRET}&digits=5"), "asks for Steam Guard codes"),
        (uri(f"secret={SECRET}&encoder="), "encoder parameter asks for other codes, not RFC 6238"),
        (f"https://totp/alice?secret={SECRET}", "scheme must be otpauth"),
        (f"otpauth://hotp/alice?secret={SECRET}&counter=0", "HOTP (counter-based) URIs"),
        (uri(f"secret={SECRET}&algorithm=MD5"), "unsupported algorithm (got MD5); use SHA1,"),
        (uri(f"secret={SECRET}&algorithm="), "unsupported algorithm; use SHA1, SHA256 or SHA512"),
        (uri(f"secret={SECRET}&algorithm=SHA1secret={SECRET}"), "unsupported algorithm"),
        (uri(f"secret={SECRET}&digits=7"), "digits must be 6 or 8 (got 7)"),
        (uri(f"secret={SECRET}&digits=10"), "digits must be 6 or 8"),
        (uri(f"secret={SECRET}&period=10"), "period must be 15 to 120 seconds (got 10)"),
        (uri(f"secret={SECRET}&period=121"), "period must be 15 to 120 seconds (got 121)"),
        (uri(f"secret={SECRET}&period=0"), "period must be 15 to 120 seconds"),
        (uri(f"secret={SECRET}&digits=six"), "digits must be a whole number"),
        (uri(f"secret={SECRET}&digits=6.0"), "digits must be a whole number"),
        (uri(f"secret={SECRET}&digits=%EF%BC%96"), "digits must be a whole number"),
        (uri(f"secret={SECRET}&digits="), "digits must be a whole number"),
        (uri(f"secret={SECRET}&period=30s"), "period must be a whole number"),
        (uri(f"secret={SECRET}&period=-30"), "period must be a whole number"),
        (uri(f"secret={BAD_BASE32}"), "secret is not valid base32"),
        (uri(f"secret={SHORT}"), "secret is 72 bits long; at least 80 are needed"),
        (uri("secret="), "secret is empty"),
        (uri("issuer=Example&digits=6"), "the URI has no secret parameter"),
        (uri(f"secretx={SECRET}"), "the URI has no secret parameter"),
        (uri(f"secret={SECRET}&secret={SECRET}"), "the secret parameter is given more than once"),
        (uri(f"secret={SECRET}&digits=6&digits=8"), "the digits parameter is given more than once"),
        (uri(f"secret={SECRET}", label="alice%0Abob"), "the label contains control characters"),
        (uri(f"secret={SECRET}&issuer=Ex%0D%0Ample"), "the issuer contains control characters"),
        (uri(f"secret={SECRET}") + "\x00", "the URI contains control characters"),
        # A right-to-left override would make a listing show another name than the one stored.
        (
            uri(f"secret={SECRET}", label="bot%E2%80%AEnimda"),
            "the label contains control characters",
        ),
        (uri(f"secret={SECRET}&issuer=Git%E2%80%A8Hub"), "the issuer contains control characters"),
        (uri(f"secret={SECRET}", label="alice%FF"), "the label is not valid UTF-8"),
        (uri(f"secret={SECRET}&issuer=%FF"), "parameters are not valid UTF-8"),
        (uri(f"secret={SECRET}&image=" + "x" * 2048), "at most 2048 are accepted"),
    ],
)
@pytest.mark.parametrize("parse", [parse_uri, parse_secret_or_uri])
def test_bad_uris_are_refused_with_one_line_that_hides_the_secret(parse, text, problem):
    assert problem in refusal(parse, text)


def test_overlong_input_says_how_long_it_was():
    text = uri(f"secret={SECRET}&image=" + "x" * 2048)
    assert f"the input is {len(text)} characters long" in refusal(parse_uri, text)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"issuer": "Example"}, "--issuer"),
        ({"algorithm": "SHA256"}, "--algorithm"),
        ({"digits": 8}, "--digits"),
        ({"period": 60}, "--period"),
    ],
)
def test_bare_secret_options_are_refused_with_a_uri(options, named):
    message = refusal(parse_secret_or_uri, uri(f"secret={SECRET}"), **options)
    assert message == f"{named}: only for a bare secret; the URI sets its own"


def test_every_option_given_with_a_uri_is_named():
    message = refusal(parse_secret_or_uri, uri(f"secret={SECRET}"), issuer="X", digits=8, period=60)
    assert message.startswith("--issuer, --digits, --period: only for a bare secret")


def test_options_left_at_their_defaults_are_fine_with_a_uri():
    spec = parse_secret_or_uri(
        uri(f"secret={SECRET}&digits=8"), issuer="", algorithm="sha1", digits=6, period=30
    )
    assert spec.params == totp.Params("SHA1", 8, 30)


# --- bare secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shown",
    [SECRET, SECRET.lower(), "n52h allt mvzh m2ld muqh gzll ojux iijb", f"\t{SECRET}=\n"],
)
def test_bare_secret_is_accepted_as_apps_show_it(shown):
    assert parse_secret_or_uri(shown) == AccountSpec(SECRET, totp.DEFAULT)


def test_bare_secret_may_lack_padding():
    spec = parse_secret_or_uri("jbswy3dpehpk3pxpjbswy3dpeh")
    assert spec.secret == "JBSWY3DPEHPK3PXPJBSWY3DPEH======"


def test_bare_secret_takes_its_parameters_from_the_options():
    spec = parse_secret_or_uri(SECRET, issuer=" Example ", algorithm="sha512", digits=8, period=60)
    assert spec == AccountSpec(SECRET, totp.Params("SHA512", 8, 60), "Example", "")


@pytest.mark.parametrize(
    ("text", "options", "problem"),
    [
        (BAD_BASE32, {}, "secret is not valid base32"),
        (BAD_BASE32.lower(), {}, "secret is not valid base32"),
        (SHORT, {}, "secret is 72 bits long"),
        ("", {}, "secret is empty"),
        (SECRET, {"algorithm": "MD5"}, "unsupported algorithm (got MD5)"),
        (SECRET, {"algorithm": "SHA-256"}, "unsupported algorithm"),
        (SECRET, {"digits": 7}, "digits must be 6 or 8 (got 7)"),
        (SECRET, {"period": 10}, "period must be 15 to 120 seconds (got 10)"),
        (SECRET, {"period": 121}, "period must be 15 to 120 seconds"),
        (SECRET, {"issuer": "Ex\nample"}, "the issuer contains control characters"),
        (SECRET + " " * 10 + "A" * 2048, {}, "at most 2048 are accepted"),
    ],
)
def test_bad_bare_secrets_and_options_are_refused(text, options, problem):
    assert problem in refusal(parse_secret_or_uri, text, **options)


def test_text_with_another_scheme_is_reported_as_the_wrong_uri_not_bad_base32():
    message = refusal(parse_secret_or_uri, f"https://example.com/?secret={SECRET}", digits=8)
    assert "scheme must be otpauth" in message


# --- account names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "0", "github-bot", "ci.deploy_2", "x" * 64, "defaults"])
def test_valid_account_names_are_returned(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "-a", ".a", "_a", "A", "Bot", "a b", "a/b", "a:b", "x" * 65, "é", "a\n", " a"],
)
def test_invalid_account_names_are_refused(name):
    with pytest.raises(InvalidAccount, match=r"^account name must match \[a-z0-9\]"):
        check_name(name)


def test_default_is_reserved_for_otp_secret():
    with pytest.raises(InvalidAccount) as refused:
        check_name("default")
    assert str(refused.value) == '"default" is reserved for OTP_SECRET'


@pytest.mark.parametrize(
    ("issuer", "label", "name"),
    [
        ("Example", "alice@google.com", "example-alice-google.com"),
        ("", "bot@example.com", "bot-example.com"),
        ("ACME Co", "", "acme-co"),
        ("GitHub", "github-bot", "github-bot"),
        ("GitHub", "GitHub", "github"),
        ("Git", "github", "git-github"),
        ("Société Générale", "ops", "societe-generale-ops"),
        ("", "__bot!!", "bot"),
        ("!!!", "Deploy Bot #2", "deploy-bot-2"),
        ("Example", "x" * 100, "example-" + "x" * 56),
        ("", "Default User", "default-user"),
    ],
)
def test_suggested_name_is_a_valid_name_from_issuer_and_label(issuer, label, name):
    suggested = suggested_name(AccountSpec(SECRET, totp.DEFAULT, issuer, label))
    assert suggested == name
    assert check_name(suggested) == suggested


@pytest.mark.parametrize(
    ("issuer", "label", "problem"),
    [
        ("", "", "no letters or digits"),
        ("@@", "--", "no letters or digits"),
        ("", "日本", "no letters or digits"),
        ("", "Default", '"default" is reserved'),
    ],
)
def test_suggested_name_refuses_when_no_usable_name_comes_out(issuer, label, problem):
    with pytest.raises(InvalidAccount) as refused:
        suggested_name(AccountSpec(SECRET, totp.DEFAULT, issuer, label))
    message = str(refused.value)
    assert message.startswith("cannot make an account name from the label; ")
    assert problem in message


# --- the spec itself -------------------------------------------------------------------------


def test_repr_and_str_of_a_spec_hide_the_secret():
    spec = parse_uri(uri(f"secret={SECRET}&digits=8"))
    for shown in (repr(spec), str(spec), f"{spec}", repr([spec]), repr({"spec": spec})):
        assert SECRET not in shown
        assert "<hidden>" in shown
        assert "'bot@example.com'" in shown
        assert "digits=8" in shown


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (uri(f"secret={SECRET}&issuer={'I' * 201}"), "issuer"),
        (uri(f"secret={SECRET}", label=f"{'I' * 201}:bot"), "issuer"),
        (uri(f"secret={SECRET}", label=f"Example:{'L' * 201}"), "label"),
    ],
)
def test_an_issuer_or_label_longer_than_storage_holds_is_refused_when_parsed(text, what):
    assert refusal(parse_uri, text) == f"the {what} is longer than 200 characters"


def test_an_issuer_and_label_of_200_characters_are_taken():
    spec = parse_uri(uri(f"secret={SECRET}&issuer={'I' * 200}", label=f"X:{'L' * 200}"))
    assert (len(spec.issuer), len(spec.label)) == (200, 200)


def test_a_bare_secrets_issuer_longer_than_storage_holds_is_refused():
    message = refusal(parse_secret_or_uri, SECRET, issuer="I" * 201)
    assert message == "the issuer is longer than 200 characters"
