"""`manage.py otp account import --google-authenticator`: Google Authenticator's export."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otp import accounts
from otp.core import totp
from otp.core.names import TEXT_LIMIT
from otp.models import AuditRecord
from tests.support.commands import call_otp
from tests.support.google_export import (
    EIGHT,
    HOTP,
    MD5,
    SHA256,
    entry,
    export_parts,
    export_uri,
    payload,
)
from tests.support.refusals import OTHER_SECRET, SECRET, assert_no_secret, refusal, stored_state

THIRD_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def write_export(tmp_path, *lines):
    path = tmp_path / "export.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def import_export(path, stdin=""):
    return call_otp("account", "import", "--google-authenticator", path, stdin=stdin)


def refused_import(path) -> tuple[str, list[str]]:
    """The CommandError and the problem lines of a refused import, checked to store nothing
    and to show no secret."""
    before = stored_state()
    err = io.StringIO()
    options = {"stdout": io.StringIO(), "stderr": err}
    with pytest.raises(CommandError) as refused:
        call_command("otp", "account", "import", "--google-authenticator", path, **options)
    assert stored_state() == before
    assert_no_secret(str(refused.value) + err.getvalue())
    return str(refused.value), err.getvalue().splitlines()


def test_import_adds_every_totp_entry_of_every_line_named_as_from_otpauth_uris(
    tmp_path, frozen_clock
):
    # Two QR codes of one export (batch 1 and 2 of 2), as decoded from the app's screens.
    path = write_export(
        tmp_path,
        "# Google Authenticator, Transfer accounts",
        export_uri(
            payload(
                entry(SECRET, "GitHub:bot@example.com", "GitHub"),
                entry(OTHER_SECRET, "deploy", "ACME Co", SHA256, EIGHT),
                batch_size=2,
            )
        ),
        "",
        export_uri(payload(entry(THIRD_SECRET, "alice@example.com"), batch_size=2, batch_index=1)),
    )
    out, err = import_export(path)
    assert out.splitlines() == [
        "added account github-bot-example.com (issuer GitHub, SHA1, 6 digits, every 30 s)",
        "added account acme-co-deploy (issuer ACME Co, SHA256, 8 digits, every 30 s)",
        "added account alice-example.com (SHA1, 6 digits, every 30 s)",
    ]
    assert err == ""
    assert_no_secret(out)
    assert accounts.get_account("github-bot-example.com").secret == SECRET
    deploy = accounts.get_account("acme-co-deploy")
    assert (deploy.secret, deploy.params) == (OTHER_SECRET, totp.Params("SHA256", 8, 30))
    assert accounts.get_account("alice-example.com").secret == THIRD_SECRET
    assert list(AuditRecord.objects.values_list("client", "action", "account")) == [
        ("operator", "account.add", "github-bot-example.com"),
        ("operator", "account.add", "acme-co-deploy"),
        ("operator", "account.add", "alice-example.com"),
    ]


def test_import_reads_the_export_from_standard_input_given_as_dash(frozen_clock):
    out, _ = import_export("-", stdin=export_uri(payload(entry(SECRET, "Example:alice"))) + "\n")
    assert out == "added account example-alice (issuer Example, SHA1, 6 digits, every 30 s)\n"
    assert accounts.get_account("example-alice").secret == SECRET


GOOD = export_uri(payload(entry(SECRET, "good")))
GOOD_DATA = GOOD.partition("data=")[2]
TRUNCATED = export_uri(payload(entry(SECRET, "good"), version=0, batch_size=0, batch_id=0)[:-4])


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            "otpauth-migration://offline?data=Zm9v!!",
            "line 2: the data parameter is not valid base64",
        ),
        (
            TRUNCATED,
            "line 2: the data is not a Google Authenticator export (truncated or damaged)",
        ),
        (
            f"otpauth-migration://online?data={GOOD_DATA}",
            "line 2: expected Google Authenticator's export, otpauth-migration://offline?data=...",
        ),
        (
            f"https://offline?data={GOOD_DATA}",
            "line 2: expected Google Authenticator's export, otpauth-migration://offline?data=...",
        ),
        ("otpauth-migration://offline?data=", "line 2: the data parameter is empty"),
        (
            f"otpauth://totp/x?secret={OTHER_SECRET}",
            "line 2: an otpauth:// URI, not an export; expected Google Authenticator's export, "
            "otpauth-migration://offline?data=...",
        ),
        (export_uri(payload()), "line 2: the export holds no accounts"),
        (
            export_uri(payload(entry(OTHER_SECRET, "b"), entry(OTHER_SECRET, "c", kind=HOTP))),
            "line 2, entry 2: HOTP (counter-based) entries are not supported; only TOTP",
        ),
        (
            export_uri(payload(entry(OTHER_SECRET, "b", algorithm=MD5))),
            "line 2, entry 1: unsupported algorithm (got MD5); use SHA1, SHA256 or SHA512",
        ),
        (
            export_uri(payload(entry(OTHER_SECRET, "taken"))),
            'line 2, entry 1: account "taken" already exists',
        ),
        (
            export_uri(payload(entry(OTHER_SECRET, "b"), entry(OTHER_SECRET, "good"))),
            'line 2, entry 2: account "good" is also on line 1, entry 1; rename one in the app '
            "and export again",
        ),
    ],
)
def test_one_wrong_line_or_entry_is_reported_and_nothing_is_imported(
    tmp_path, frozen_clock, line, problem
):
    call_otp("account", "add", "taken", stdin=THIRD_SECRET)
    message, problems = refused_import(write_export(tmp_path, GOOD, line))
    assert message == "nothing was imported: 1 problem (listed above)"
    assert problems == [problem]


def test_every_problem_is_reported_by_line_and_entry(tmp_path, frozen_clock):
    path = write_export(
        tmp_path,
        export_uri(
            payload(
                entry(SECRET, "alice", kind=HOTP, counter=3),
                entry(OTHER_SECRET, "bob"),
                entry(THIRD_SECRET, "carol", algorithm=MD5),
            )
        ),
        "otpauth-migration://offline?data=%%%",
        export_uri(payload(entry(THIRD_SECRET, "bob"))),
    )
    message, problems = refused_import(path)
    assert message == "nothing was imported: 4 problems (listed above)"
    assert problems == [
        "line 1, entry 1: HOTP (counter-based) entries are not supported; only TOTP",
        "line 1, entry 3: unsupported algorithm (got MD5); use SHA1, SHA256 or SHA512",
        "line 2: the data parameter is not valid base64",
        'line 3, entry 1: account "bob" is also on line 1, entry 2; rename one in the app and '
        "export again",
    ]


def test_import_refuses_a_file_with_no_export(tmp_path):
    path = write_export(tmp_path, "# nothing yet", "")
    assert refusal("account", "import", "--google-authenticator", path) == (
        f"{path} holds no otpauth-migration URI; nothing was imported"
    )


def test_import_of_an_export_without_an_encryption_key_stores_nothing(tmp_path, settings):
    settings.OTP_ENCRYPTION_KEYS = []
    path = write_export(tmp_path, GOOD)
    message = refusal("account", "import", "--google-authenticator", path)
    assert "OTP_ENCRYPTION_KEYS is empty" in message


# --- exports split over several QR codes: all of them or nothing -----------------------------

FOURTH_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
# One export of three QR codes: two accounts, one, then one.
PART_1, PART_2, PART_3 = export_parts(
    (entry(SECRET, "GitHub:bot@example.com", "GitHub"), entry(OTHER_SECRET, "deploy", "ACME Co")),
    (entry(THIRD_SECRET, "alice@example.com"),),
    (entry(FOURTH_SECRET, "Example:carol", algorithm=SHA256),),
    batch_id=-1_234_567_890,
)
MISSING_2_OF_3 = (
    "part 2 of 3 of this export is missing; export again, or add the missing part's URI"
)


def test_a_complete_three_part_export_in_any_order_imports_every_account(tmp_path, frozen_clock):
    path = write_export(tmp_path, PART_3, "# the first QR code", PART_1, "", PART_2)
    out, err = import_export(path)
    assert out.splitlines() == [
        "added account example-carol (issuer Example, SHA256, 6 digits, every 30 s)",
        "added account github-bot-example.com (issuer GitHub, SHA1, 6 digits, every 30 s)",
        "added account acme-co-deploy (issuer ACME Co, SHA1, 6 digits, every 30 s)",
        "added account alice-example.com (SHA1, 6 digits, every 30 s)",
    ]
    assert err == ""
    assert_no_secret(out)
    assert [
        accounts.get_account(name).secret
        for name in ("github-bot-example.com", "acme-co-deploy", "alice-example.com")
    ] == [SECRET, OTHER_SECRET, THIRD_SECRET]
    assert accounts.get_account("example-carol").secret == FOURTH_SECRET
    assert list(AuditRecord.objects.values_list("action", "account")) == [
        ("account.add", "example-carol"),
        ("account.add", "github-bot-example.com"),
        ("account.add", "acme-co-deploy"),
        ("account.add", "alice-example.com"),
    ]


@pytest.mark.parametrize(
    ("lines", "problems"),
    [
        pytest.param((PART_1, PART_3), [f"line 1: {MISSING_2_OF_3}"], id="middle-missing"),
        pytest.param(
            ("# only the last", PART_3),
            [
                "line 2: part 1 of 3 of this export is missing; export again, or add the "
                "missing part's URI",
                "line 2: part 2 of 3 of this export is missing; export again, or add the "
                "missing part's URI",
            ],
            id="two-missing",
        ),
        pytest.param(
            (PART_1, PART_2, PART_3, PART_2),
            ["line 4: part 2 of 3 appears twice (also on line 2); remove one"],
            id="part-twice",
        ),
        pytest.param(
            (
                PART_1,
                export_uri(
                    payload(
                        entry(THIRD_SECRET, "alice@example.com"),
                        batch_size=4,
                        batch_index=1,
                        batch_id=-1_234_567_890,
                    )
                ),
                PART_3,
            ),
            [
                "line 2: this says it is part 2 of 4, but line 1 says its export has 3 parts; "
                "export again",
                f"line 1: {MISSING_2_OF_3}",
            ],
            id="part-count-disagrees",
        ),
        pytest.param(
            (
                PART_1,
                export_uri(
                    payload(entry(THIRD_SECRET, "alice@example.com"), batch_size=3, batch_index=3)
                ),
            ),
            [
                "line 2: this says it is part 4 of 3, which cannot be; export again",
                f"line 1: {MISSING_2_OF_3}",
                "line 1: part 3 of 3 of this export is missing; export again, or add the "
                "missing part's URI",
            ],
            id="part-that-cannot-be",
        ),
    ],
)
def test_an_incomplete_export_of_several_qr_codes_imports_nothing(
    tmp_path, frozen_clock, lines, problems
):
    call_otp("account", "add", "taken", stdin=THIRD_SECRET)
    message, reported = refused_import(write_export(tmp_path, *lines))
    count = len(problems)
    assert message == (
        f"nothing was imported: {count} problem{'s' if count > 1 else ''} (listed above)"
    )
    assert reported == problems


def test_a_missing_part_refuses_the_whole_import_with_every_other_problem(tmp_path, frozen_clock):
    # A single-QR export with a wrong entry, an export missing its middle part, a wrong line, an
    # export missing its last part: each is reported, the missing parts after every line.
    path = write_export(
        tmp_path,
        export_uri(payload(entry(SECRET, "solo", kind=HOTP))),
        PART_3,
        "otpauth-migration://offline?data=%%%",
        PART_1,
        export_uri(payload(entry(FOURTH_SECRET, "other"), batch_size=2, batch_id=99)),
    )
    message, problems = refused_import(path)
    assert message == "nothing was imported: 4 problems (listed above)"
    assert problems == [
        "line 1, entry 1: HOTP (counter-based) entries are not supported; only TOTP",
        "line 3: the data parameter is not valid base64",
        f"line 2: {MISSING_2_OF_3}",
        "line 5: part 2 of 2 of this export is missing; export again, or add the missing "
        "part's URI",
    ]


def test_import_reports_a_long_issuer_by_its_line_and_entry_with_the_others(tmp_path):
    path = write_export(
        tmp_path,
        export_uri(
            payload(
                entry(SECRET, "bot", "I" * (TEXT_LIMIT + 1)),
                entry(OTHER_SECRET, "L" * (TEXT_LIMIT + 1), "GitHub"),
            )
        ),
        export_uri(payload(entry(THIRD_SECRET, "counter", "ACME", kind=HOTP))),
    )
    message, problems = refused_import(path)
    assert message == "nothing was imported: 3 problems (listed above)"
    assert problems == [
        f"line 1, entry 1: the issuer is longer than {TEXT_LIMIT} characters",
        f"line 1, entry 2: the label is longer than {TEXT_LIMIT} characters",
        "line 2, entry 1: HOTP (counter-based) entries are not supported; only TOTP",
    ]
