"""`manage.py otp client ...`: creating, listing, revoking and rotating API clients."""

import hashlib
import json
import re

import pytest
from django.core.management.base import CommandError

from otp import client_keys
from otp.core.credentials import key_id
from otp.models import AuditRecord, Client, ClientKey
from tests.support.commands import call_otp
from tests.support.commands import manage as run_manage

API_KEY_LINE = re.compile(r"api key: (otp_[A-Za-z0-9_-]{43})")
KEY_ID_LINE = re.compile(r"key id: ([0-9a-f]{16})")


def stored_state():
    return (
        list(Client.objects.values_list("name", "revoked_at")),
        list(ClientKey.objects.values_list("key_id", "expires_at")),
        list(AuditRecord.objects.values_list("action", "client")),
    )


def refusal(*args) -> str:
    """The CommandError message of a refused command: one line, and nothing changed."""
    before = stored_state()
    with pytest.raises(CommandError) as refused:
        call_otp(*args)
    message = str(refused.value)
    assert "\n" not in message
    assert stored_state() == before
    return message


def new_key(out: str) -> tuple[str, str]:
    """The (API key, key id) a create or rotate printed, each exactly once."""
    keys, ids = API_KEY_LINE.findall(out), KEY_ID_LINE.findall(out)
    assert len(keys) == len(ids) == 1
    return keys[0], ids[0]


def create(name="ci", *options):
    return new_key(call_otp("client", "create", name, *options).out)


def add_account(name):
    call_otp("account", "add", name, stdin="JBSWY3DPEHPK3PXP" * 2)


# --- client create ---------------------------------------------------------------------------


def test_create_prints_a_working_key_and_its_id_once(frozen_clock):
    out, err = call_otp("client", "create", "ci", "--all-accounts", "--issue", "--verify")
    api_key, kid = new_key(out)
    assert out.splitlines() == [
        "created client ci",
        f"api key: {api_key}",
        f"key id: {kid}",
        "The API key is not shown again: store it now.",
    ]
    assert err == ""
    assert kid == key_id(api_key)
    caller = client_keys.caller_for_key(api_key, frozen_clock.at)
    assert (caller.name, caller.all_accounts, caller.may_issue, caller.may_verify) == (
        "ci",
        True,
        True,
        True,
    )


def test_create_limits_the_client_to_the_accounts_and_actions_given(frozen_clock):
    add_account("github-bot")
    api_key, _ = create(
        "ci", "--account", "github-bot", "--account", "default", "--verify", "--require-signature"
    )
    caller = client_keys.caller_for_key(api_key, frozen_clock.at)
    assert caller.all_accounts is False
    assert caller.accounts == {"github-bot", "default"}
    assert (caller.may_issue, caller.may_verify, caller.requires_signature) == (False, True, True)


def test_create_quiet_prints_the_key_alone(frozen_clock):
    out, _ = call_otp("client", "create", "ci", "--all-accounts", "--issue", "--quiet")
    api_key = out.removesuffix("\n")
    assert re.fullmatch(r"otp_[A-Za-z0-9_-]{43}", api_key)
    assert client_keys.caller_for_key(api_key, frozen_clock.at).name == "ci"


def test_create_records_the_change_under_the_clients_name(frozen_clock):
    _, kid = create("ci", "--all-accounts", "--issue")
    record = AuditRecord.objects.get()
    assert (record.action, record.client, record.key_id, record.address) == (
        "client.create",
        "ci",
        kid,
        "local",
    )


def test_a_client_that_only_reads_the_metrics_needs_no_account(frozen_clock):
    api_key, _ = create("prometheus", "--metrics")
    caller = client_keys.caller_for_key(api_key, frozen_clock.at)
    assert (caller.may_read_metrics, caller.may_issue, caller.may_verify) == (True, False, False)
    assert (caller.all_accounts, caller.accounts) == (False, frozenset())
    row = json.loads(call_otp("client", "list", "--format", "json").out)
    assert (row["accounts"], row["actions"]) == ([], ["metrics"])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--issue"], "give --account NAME (repeatable) or --all-accounts"),
        (["--account", "default", "--all-accounts", "--issue"], "not allowed with argument"),
    ],
)
def test_create_needs_exactly_one_of_account_and_all_accounts(options, expected):
    assert expected in refusal("client", "create", "ci", *options)


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("ci", ["--all-accounts"], "give --issue, --verify, --metrics or several"),
        ("ci", ["--account", "ghost", "--issue"], 'no account "ghost"'),
        ("CI Bot", ["--all-accounts", "--issue"], "client name must match"),
    ],
)
def test_create_refuses_what_the_service_refuses(name, options, expected):
    assert expected in refusal("client", "create", name, *options)


def test_no_client_may_be_called_operator_in_the_audit_trail(frozen_clock):
    assert "reserved" in refusal("client", "create", "operator", "--all-accounts", "--issue")


def test_create_refuses_a_name_already_taken(frozen_clock):
    create("ci", "--all-accounts", "--issue")
    assert refusal("client", "create", "ci", "--all-accounts", "--verify") == (
        'client "ci" already exists'
    )


def test_create_without_an_encryption_key_refuses_and_creates_nothing(settings):
    settings.OTP_ENCRYPTION_KEYS = []
    message = refusal("client", "create", "ci", "--all-accounts", "--issue")
    assert message.startswith("OTP_ENCRYPTION_KEYS is empty")


# --- client list -----------------------------------------------------------------------------


def test_list_shows_clients_but_never_a_key_or_its_hash(frozen_clock):
    add_account("github-bot")
    add_account("gitlab-bot")
    api_key, kid = create("ci", "--account", "github-bot", "--account", "gitlab-bot", "--issue")
    table, _ = call_otp("client", "list")
    json_lines, _ = call_otp("client", "list", "--format", "json")
    csv_text, _ = call_otp("client", "list", "--format", "csv")
    assert table.splitlines() == [
        "NAME  ACCOUNTS               ACTIONS  SIGNED ONLY  KEY IDS           CREATED"
        "               REVOKED",
        f"ci    github-bot,gitlab-bot  issue    no           {kid}  2023-11-14T22:13:20Z  -",
    ]
    assert json.loads(json_lines) == {
        "name": "ci",
        "accounts": ["github-bot", "gitlab-bot"],
        "actions": ["issue"],
        "requires_signature": False,
        "key_ids": [kid],
        "created_at": "2023-11-14T22:13:20Z",
        "revoked_at": None,
    }
    assert csv_text.splitlines()[0] == (
        "name,accounts,actions,requires_signature,key_ids,created_at,revoked_at"
    )
    key_hash = hashlib.sha256(api_key.encode()).hexdigest()
    for output in (table, json_lines, csv_text):
        assert api_key not in output
        assert key_hash not in output
        assert api_key[4:20] not in output


def test_list_as_json_gives_accounts_and_actions_as_lists(frozen_clock):
    create("everything", "--all-accounts", "--issue", "--verify")
    json_lines, _ = call_otp("client", "list", "--format", "json")
    row = json.loads(json_lines)
    assert row["accounts"] == ["*"]  # every account, those added later too
    assert row["actions"] == ["issue", "verify"]
    table, _ = call_otp("client", "list")
    assert table.splitlines()[1].split()[1:3] == ["*", "issue,verify"]


# --- client revoke ---------------------------------------------------------------------------


def test_revoked_clients_key_is_refused(frozen_clock):
    api_key, _ = create("ci", "--all-accounts", "--issue")
    out, _ = call_otp("client", "revoke", "ci")
    assert out == "revoked client ci: its keys are refused from now on\n"
    assert client_keys.caller_for_key(api_key, frozen_clock.at) is None
    assert AuditRecord.objects.filter(action="client.revoke", client="ci").count() == 1
    listed, _ = call_otp("client", "list", "--format", "json")
    assert json.loads(listed)["revoked_at"] == "2023-11-14T22:13:20Z"
    assert json.loads(listed)["key_ids"] == []


def test_revoking_deletes_every_stored_trace_of_the_clients_keys(frozen_clock):
    create("ci", "--all-accounts", "--issue")
    call_otp("client", "rotate", "ci", "--grace", "600")
    assert ClientKey.objects.filter(client__name="ci").count() == 2
    call_otp("client", "revoke", "ci")
    assert not ClientKey.objects.filter(client__name="ci").exists()


def test_revoking_an_unknown_or_revoked_client_fails(frozen_clock):
    assert "ghost" in refusal("client", "revoke", "ghost")
    create("ci", "--all-accounts", "--issue")
    call_otp("client", "revoke", "ci")
    assert "not revoked already" in refusal("client", "revoke", "ci")


# --- client rotate ---------------------------------------------------------------------------


def test_rotated_old_key_works_until_the_default_grace_ends(frozen_clock):
    old_key, _ = create("ci", "--all-accounts", "--issue")
    out, _ = call_otp("client", "rotate", "ci")
    new_api_key, new_kid = new_key(out)
    assert out.splitlines()[0] == (
        "rotated client ci: its previous keys work until 2023-11-14T23:13:20Z, then are refused"
    )
    assert new_api_key != old_key
    start = frozen_clock.at
    frozen_clock.at = start + 3599
    assert client_keys.caller_for_key(old_key, frozen_clock.at).name == "ci"
    frozen_clock.at = start + 3600
    assert client_keys.caller_for_key(old_key, frozen_clock.at) is None
    assert client_keys.caller_for_key(new_api_key, frozen_clock.at).key_id == new_kid


def test_a_rotation_deletes_the_keys_whose_grace_has_ended(frozen_clock):
    _, first = create("ci", "--all-accounts", "--issue")
    _, second = new_key(call_otp("client", "rotate", "ci", "--grace", "60").out)
    frozen_clock.at += 60
    _, third = new_key(call_otp("client", "rotate", "ci", "--grace", "60").out)
    stored = set(ClientKey.objects.filter(client__name="ci").values_list("key_id", flat=True))
    assert stored == {second, third}
    assert first not in stored


def test_rotate_with_grace_zero_refuses_the_old_key_at_once(frozen_clock):
    old_key, _ = create("ci", "--all-accounts", "--issue")
    out, _ = call_otp("client", "rotate", "ci", "--grace", "0")
    new_api_key, _ = new_key(out)
    assert "its previous keys are refused from now on" in out
    assert client_keys.caller_for_key(old_key, frozen_clock.at) is None
    assert client_keys.caller_for_key(new_api_key, frozen_clock.at).name == "ci"


def test_rotate_shows_the_new_key_once_and_list_shows_neither(frozen_clock):
    old_key, old_kid = create("ci", "--all-accounts", "--issue")
    out, _ = call_otp("client", "rotate", "ci", "--grace", "60")
    new_api_key, new_kid = new_key(out)
    listed, _ = call_otp("client", "list")
    assert f"{old_kid},{new_kid}" in listed or f"{new_kid},{old_kid}" in listed
    assert old_key not in listed
    assert new_api_key not in listed
    assert AuditRecord.objects.filter(action="client.rotate", key_id=new_kid).count() == 1


def test_rotate_quiet_prints_the_new_key_alone(frozen_clock):
    create("ci", "--all-accounts", "--issue")
    out, _ = call_otp("client", "rotate", "ci", "--quiet")
    assert client_keys.caller_for_key(out.removesuffix("\n"), frozen_clock.at).name == "ci"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ghost"], 'no client "ghost"'),
        (["ci", "--grace", "-1"], "--grace must be 0 to 2592000 seconds (30 days)"),
        (["ci", "--grace", "99999999999999"], "--grace must be 0 to 2592000 seconds"),
    ],
)
def test_rotate_refuses_an_unknown_client_or_a_grace_out_of_range(frozen_clock, args, expected):
    create("ci", "--all-accounts", "--issue")
    assert expected in refusal("client", "rotate", *args)


# --- the real command line -------------------------------------------------------------------


def test_command_line_create_quiet_gives_scripts_the_key_alone_on_stdout(tmp_path):
    def manage(*args):
        return run_manage(tmp_path, *args)

    assert manage("migrate", "--verbosity", "0").returncode == 0
    created = manage("otp", "client", "create", "ci", "--all-accounts", "--issue", "--quiet")
    assert created.returncode == 0
    assert re.fullmatch(r"otp_[A-Za-z0-9_-]{43}\n", created.stdout)
    api_key = created.stdout.strip()
    audit_line = json.loads(created.stderr)
    assert (audit_line["action"], audit_line["key_id"]) == ("client.create", key_id(api_key))
    assert api_key not in created.stderr

    twice = manage("otp", "client", "create", "ci", "--all-accounts", "--issue")
    assert twice.returncode == 1
    assert twice.stdout == ""
    assert twice.stderr == 'CommandError: client "ci" already exists\n'
