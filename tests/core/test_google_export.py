"""Reading Google Authenticator's export URIs into accounts, and refusing what cannot be one."""

import base64

import pytest

from otp.core import totp
from otp.core.google_export import (
    MAX_INPUT_CHARS,
    MAX_MISSING_LISTED,
    Part,
    PartsSeen,
    parse_export_uri,
)
from otp.core.names import InvalidAccount
from otp.core.otpauth import AccountSpec
from tests.support.google_export import (
    EIGHT,
    HOTP,
    MD5,
    SHA256,
    SHA512,
    SIX,
    entry,
    export_parts,
    export_uri,
    payload,
)

# Distinctive, so a message that echoes it (or a recognisable part of it) is caught.
SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"
OTHER_SECRET = "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
# Published with the export format's first decoders: Google's own "Example:alice@google.com",
# secret JBSWY3DPEHPK3PXP, exported by the app.
PUBLIC_SAMPLE = (
    "otpauth-migration://offline?data="
    "CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZTAC"
)


def accounts_of(uri: str):
    return parse_export_uri(uri).accounts


def assert_no_secret(text: str):
    assert "\n" not in text
    for secret in (SECRET, OTHER_SECRET):
        for leak in (secret, secret.lower(), secret[:12], secret[-12:]):
            assert leak not in text


def refusal(uri: str) -> str:
    with pytest.raises(InvalidAccount) as refused:
        accounts_of(uri)
    message = str(refused.value)
    assert_no_secret(message)
    return message


def entry_refusal(one_entry: bytes) -> str:
    (refused,) = accounts_of(export_uri(payload(one_entry)))
    assert isinstance(refused, InvalidAccount)
    assert_no_secret(str(refused))
    return str(refused)


# --- exports that work -----------------------------------------------------------------------


def test_the_public_sample_export_is_googles_example_account():
    assert accounts_of(PUBLIC_SAMPLE) == [
        AccountSpec("JBSWY3DPEHPK3PXP", totp.DEFAULT, "Example", "alice@google.com")
    ]


def test_every_entry_becomes_a_spec_in_order_with_its_algorithm_and_digits():
    uri = export_uri(
        payload(
            entry(SECRET, "GitHub:bot@example.com", "GitHub", SHA256, EIGHT),
            entry(OTHER_SECRET, "deploy", "ACME Co", SHA512, SIX),
        )
    )
    assert accounts_of(uri) == [
        AccountSpec(SECRET, totp.Params("SHA256", 8, 30), "GitHub", "bot@example.com"),
        AccountSpec(OTHER_SECRET, totp.Params("SHA512", 6, 30), "ACME Co", "deploy"),
    ]


def test_unspecified_algorithm_and_digits_are_sha1_and_six_and_the_period_is_30():
    (spec,) = accounts_of(export_uri(payload(entry(SECRET, "alice"))))
    assert spec == AccountSpec(SECRET, totp.DEFAULT, "", "alice")


def test_the_label_prefix_is_the_issuer_when_the_entry_has_none():
    (spec,) = accounts_of(export_uri(payload(entry(SECRET, "Example:alice"))))
    assert (spec.issuer, spec.label) == ("Example", "alice")


def test_a_counter_on_a_totp_entry_is_ignored():
    (spec,) = accounts_of(export_uri(payload(entry(SECRET, "alice", counter=9))))
    assert spec.secret == SECRET


@pytest.mark.parametrize(
    "spelled",
    [
        pytest.param(lambda data: data, id="raw-plus-and-slash"),
        pytest.param(lambda data: data.rstrip("="), id="no-padding"),
        pytest.param(lambda data: data.replace("+", "%2b").replace("/", "%2F"), id="lower-hex"),
    ],
)
def test_base64_that_is_not_percent_encoded_or_unpadded_still_reads(spelled):
    # A secret whose base64 holds "++++" and "////": it starts 4 bytes into the payload, so two
    # bytes put it on a 3-byte boundary.
    secret = base64.b32encode(b"\0\0" + b"\xfb\xef\xbe\xff\xff\xff" * 3).decode()
    data = base64.b64encode(payload(entry(secret, "ali"))).decode()
    assert "+" in data
    assert "/" in data
    assert data.endswith("=")
    (spec,) = accounts_of(f"otpauth-migration://offline?data={spelled(data)}")
    assert spec.secret == secret


def test_scheme_and_host_are_case_insensitive_and_other_parameters_ignored():
    uri = export_uri(payload(entry(SECRET, "alice"))).replace(
        "otpauth-migration://offline?", "OTPAUTH-MIGRATION://Offline?v=1&"
    )
    assert accounts_of(uri)[0].label == "alice"


# --- exports refused as a whole --------------------------------------------------------------

ONE_ENTRY = payload(entry(SECRET, "alice"), version=0, batch_size=0, batch_id=0)
GOOD_DATA = export_uri(ONE_ENTRY).partition("data=")[2]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (export_uri(ONE_ENTRY[:-3]), "truncated or damaged"),
        ("otpauth-migration://offline?data=AAAA", "truncated or damaged"),
        ("otpauth-migration://offline?data=" + "Zm9v!!", "not valid base64"),
        ("otpauth-migration://offline?data=Zm9vY", "not valid base64"),
        ("otpauth-migration://offline?data=%FF%FE", "not valid base64"),
        ("otpauth-migration://offline?data=", "the data parameter is empty"),
        ("otpauth-migration://offline?version=1", "no data parameter"),
        (f"otpauth-migration://offline?data={GOOD_DATA}&data={GOOD_DATA}", "more than once"),
        (f"otpauth-migration://online?data={GOOD_DATA}", "expected Google Authenticator's"),
        (f"https://offline?data={GOOD_DATA}", "expected Google Authenticator's"),
        (f"otpauth://totp/alice?secret={SECRET}", "an otpauth:// URI, not an export"),
        (SECRET, "expected Google Authenticator's export"),
        (f"otpauth-migration://offline?data={GOOD_DATA}\x00", "controls or non-ASCII"),
        (f"otpauth-migration://offline?data={GOOD_DATA}é", "controls or non-ASCII"),
        (export_uri(payload(version=1)), "the export holds no accounts"),
        ("otpauth-migration://offline?data=" + "A" * MAX_INPUT_CHARS, "characters long"),
    ],
)
def test_a_wrong_export_is_refused_in_one_line_without_the_secret(uri, expected):
    assert expected in refusal(uri)


# --- entries refused one by one --------------------------------------------------------------


@pytest.mark.parametrize(
    ("one_entry", "expected"),
    [
        (entry(SECRET, "alice", kind=HOTP, counter=4), "HOTP (counter-based) entries"),
        (entry(SECRET, "alice", algorithm=MD5), "unsupported algorithm (got MD5)"),
        (entry(SECRET, "alice", kind=0), "type is not set"),
        (entry(SECRET, "alice", kind=3), "type is unknown (got 3)"),
        (entry(SECRET, "alice", algorithm=9), "unknown algorithm (got 9)"),
        (entry(SECRET, "alice", digits=3), "unknown digit count (got 3)"),
        (entry(SECRET[:8], "alice"), "secret is 40 bits"),
        (entry(SECRET, "alice\nbob"), "the label contains control characters"),
        (entry(SECRET, "alice", issuer="Git\u202eHub"), "the issuer contains control characters"),
    ],
    ids=[
        "hotp",
        "md5",
        "unset-type",
        "unknown-type",
        "unknown-algorithm",
        "unknown-digits",
        "short-secret",
        "newline-in-name",
        "bidi-override-in-issuer",
    ],
)
def test_a_wrong_entry_is_refused_with_its_reason(one_entry, expected):
    assert expected in entry_refusal(one_entry)


def test_an_entry_without_a_secret_is_refused():
    assert entry_refusal(entry("", "alice")) == "secret is empty"


def test_a_wrong_entry_leaves_the_others_of_its_export_readable():
    uri = export_uri(
        payload(entry(SECRET, "alice", kind=HOTP), entry(OTHER_SECRET, "bob"), entry("", "carol"))
    )
    hotp, bob, carol = accounts_of(uri)
    assert str(hotp).startswith("HOTP")
    assert str(carol) == "secret is empty"
    assert bob == AccountSpec(OTHER_SECRET, totp.DEFAULT, "", "bob")


# --- the parts of an export split over several QR codes --------------------------------------


def test_each_uri_says_which_part_of_which_export_it_is():
    first, second = export_parts((entry(SECRET, "alice"),), (entry(OTHER_SECRET, "bob"),))
    assert parse_export_uri(first).part == Part(batch_id=-7, size=2, index=0)
    assert parse_export_uri(second).part == Part(batch_id=-7, size=2, index=1)
    assert parse_export_uri(PUBLIC_SAMPLE).part == Part(batch_id=0, size=0, index=0)


@pytest.mark.parametrize(
    ("batch_size", "batch_index", "expected"),
    [
        (3, 3, "this says it is part 4 of 3, which cannot be; export again"),
        (3, -1, "this says it is part 0 of 3, which cannot be; export again"),
        (-2, 0, "the export's number of parts is negative (got -2); export again"),
    ],
)
def test_a_part_that_cannot_be_is_refused(batch_size, batch_index, expected):
    uri = export_uri(
        payload(entry(SECRET, "alice"), batch_size=batch_size, batch_index=batch_index)
    )
    assert refusal(uri) == expected


def parts_problems(*placed: tuple[str, Part]) -> tuple[list[str], list[tuple[str, str]]]:
    """The refusals of PartsSeen.add, as "place: problem", and then what it finds missing."""
    seen, refused = PartsSeen(), []
    for place, part in placed:
        try:
            seen.add(place, part)
        except InvalidAccount as wrong:
            refused.append(f"{place}: {wrong}")
    return refused, seen.missing()


def test_every_part_once_in_any_order_is_a_whole_export():
    placed = [(f"line {n}", Part(5, 3, index)) for n, index in ((1, 2), (2, 0), (3, 1))]
    assert parts_problems(*placed) == ([], [])


def test_single_qr_exports_are_whole_on_their_own_whatever_their_id_or_index():
    assert parts_problems(
        ("line 1", Part(0, 0, 0)),
        ("line 2", Part(0, 0, 0)),
        ("line 3", Part(5, 1, 0)),
        ("line 4", Part(5, 1, 7)),
        ("line 5", Part(6, 2, 0)),
        ("line 6", Part(6, 2, 1)),
    ) == ([], [])


def test_each_missing_part_is_reported_at_its_exports_first_line():
    assert parts_problems(("line 4", Part(5, 4, 1)), ("line 2", Part(5, 4, 3))) == (
        [],
        [
            (
                "line 4",
                "part 1 of 4 of this export is missing; export again, or add the "
                "missing part's URI",
            ),
            (
                "line 4",
                "part 3 of 4 of this export is missing; export again, or add the "
                "missing part's URI",
            ),
        ],
    )


def test_exports_are_told_apart_by_their_batch_id():
    _, missing = parts_problems(
        ("line 1", Part(5, 2, 0)),
        ("line 2", Part(-9, 2, 1)),
        ("line 3", Part(5, 2, 1)),
    )
    assert missing == [
        (
            "line 2",
            "part 1 of 2 of this export is missing; export again, or add the missing part's URI",
        )
    ]


def test_a_part_given_twice_is_refused_where_it_is_repeated():
    refused, missing = parts_problems(
        ("line 1", Part(5, 3, 0)),
        ("line 2", Part(5, 3, 1)),
        ("line 3", Part(5, 3, 1)),
        ("line 4", Part(5, 3, 2)),
    )
    assert refused == ["line 3: part 2 of 3 appears twice (also on line 2); remove one"]
    assert missing == []


def test_parts_that_disagree_on_how_many_there_are_are_refused():
    refused, missing = parts_problems(
        ("line 1", Part(5, 2, 0)),
        ("line 2", Part(5, 3, 1)),
        ("line 3", Part(5, 2, 1)),
    )
    assert refused == [
        "line 2: this says it is part 2 of 3, but line 1 says its export has 2 parts; export again"
    ]
    assert missing == []


def test_many_missing_parts_are_counted_in_one_line_however_many_an_export_claims():
    size = 2**31 - 1  # the largest the app's int32 can claim: not listed, nor even counted to
    _, missing = parts_problems(("line 1", Part(5, size, 0)))
    assert missing == [
        (
            "line 1",
            f"{size - 1} of the {size} parts of this export are missing; export again, "
            "or add the missing parts' URIs",
        )
    ]
    few = MAX_MISSING_LISTED + 1
    _, missing = parts_problems(("line 1", Part(5, few, 0)))
    assert [problem for _, problem in missing] == [
        f"part {n} of {few} of this export is missing; export again, or add the missing part's URI"
        for n in range(2, few + 1)
    ]


def test_an_entry_whose_issuer_storage_cannot_hold_is_refused_alone():
    export = parse_export_uri(
        export_uri(payload(entry(SECRET, "bot", "I" * 201), entry(SECRET, "ok", "GitHub")))
    )
    first, second = export.accounts
    assert isinstance(first, InvalidAccount)
    assert str(first) == "the issuer is longer than 200 characters"
    assert second.issuer == "GitHub"
