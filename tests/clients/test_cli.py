"""`otp-client` as a shell runs it (the venv's console script, in a subprocess) against a live
gunicorn: what it prints, and its exit status 0, 1 or 2 with one line on stderr."""

import json
import os
import subprocess
import time

import pytest
from otp_client import Client

from tests.clients.conftest import (
    OTP_CLIENT,
    PARAMS,
    code_at,
    mid_window_account,
    seconds_left,
)
from tests.support.servers import free_port

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("clean_log")]

DONE, NOT_VALID, FAILED = 0, 1, 2
RUN_TIMEOUT = 60


def environment(**variables: str | None) -> dict[str, str]:
    """The test environment without any OTP_SERVICE_* of the developer's, plus `variables`;
    no bytecode is written into the tree by the client's import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTP_SERVICE_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update({name: value for name, value in variables.items() if value is not None})
    return env


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OTP_CLIENT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.fixture
def otp_client(service):
    """Run otp-client with the signer's key and the service's URL in the environment."""
    env = environment(OTP_SERVICE_URL=service.url, OTP_SERVICE_KEY=service.signer)
    return lambda *args: run(*args, env=env)


def assert_failed_in_one_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == FAILED, result
    assert result.stdout == ""
    assert result.stderr.startswith("otp-client")
    assert result.stderr.endswith("\n")
    assert result.stderr.count("\n") == 1, result.stderr
    for text in expected:
        assert text in result.stderr


def codes_between(account: str, started: float, ended: float) -> set[str]:
    return {code_at(account, at) for at in range(int(started), int(ended) + 1)}


def test_code_prints_the_code_alone(otp_client):
    started = time.time()
    result = otp_client("code", "github-bot")
    assert result.returncode == DONE, result
    assert result.stderr == ""
    assert result.stdout.endswith("\n")
    assert result.stdout.strip() in codes_between("github-bot", started, time.time())


def test_code_json_prints_the_services_object(otp_client):
    result = otp_client("code", "github-bot", "--json")
    assert result.returncode == DONE, result
    answer = json.loads(result.stdout)
    assert set(answer) == {"otp", "valid_for_seconds", "timestamp"}
    assert answer["otp"] == code_at("github-bot", answer["timestamp"])
    assert answer["valid_for_seconds"] == seconds_left("github-bot", answer["timestamp"])


def test_a_shell_captures_the_code_with_min_validity(service):
    # The issue's own line: CODE=$(otp-client code github-bot --min-validity 10).
    script = f'CODE=$("{OTP_CLIENT}" code github-bot --min-validity 10) && printf %s "$CODE"'
    env = environment(OTP_SERVICE_URL=service.url, OTP_SERVICE_KEY=service.signer)
    started = time.time()
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert result.returncode == DONE, result
    # Valid at least 10 s from when it was handed out, so at most 20 s into its window.
    handed_out = codes_between("github-bot", started, time.time() + PARAMS["github-bot"].period)
    assert result.stdout in handed_out


def test_verify_exits_0_for_a_valid_code_and_1_for_one_that_is_not(service, otp_client):
    code = Client(service.url, service.signer).code("quick").otp
    valid = otp_client("verify", "quick", code)
    assert (valid.returncode, valid.stdout, valid.stderr) == (DONE, "valid\n", "")
    # The same code again is a replay: not valid.
    replayed = otp_client("verify", "quick", code)
    assert (replayed.returncode, replayed.stdout, replayed.stderr) == (NOT_VALID, "invalid\n", "")


def test_accounts_prints_one_name_a_line(otp_client):
    result = otp_client("accounts")
    assert (result.returncode, result.stderr) == (DONE, "")
    assert result.stdout.splitlines() == ["default", "github-bot", "quick"]
    as_json = json.loads(otp_client("accounts", "--json").stdout)
    assert [account["name"] for account in as_json] == ["default", "github-bot", "quick"]
    assert as_json[1] == {
        "name": "github-bot",
        "issuer": "Test",
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "exclusive": False,
    }


def test_url_and_key_options_come_before_or_after_the_command(service):
    env = environment()
    before = run("--url", service.url, "--key", service.fetcher, "accounts", env=env)
    after = run("accounts", "--url", service.url, "--key", service.fetcher, env=env)
    assert before.stdout == after.stdout == "github-bot\n"


def test_a_service_error_exits_2_with_its_message_in_one_line(otp_client):
    assert_failed_in_one_line(otp_client("code", "no-such-account"), "404", "Account not found")


def test_a_wrong_key_exits_2_and_is_not_printed(service):
    wrong = "wrong-key-0123456789abcdef"
    result = run("accounts", env=environment(OTP_SERVICE_URL=service.url, OTP_SERVICE_KEY=wrong))
    assert_failed_in_one_line(result, "401", "Invalid or missing request signature")
    assert wrong not in result.stderr


def test_without_waiting_a_code_not_yet_out_exits_2_with_retry_after(service):
    account = mid_window_account(("slow", "slower"), time.time())
    period = PARAMS[account].period
    env = environment(OTP_SERVICE_URL=service.url, OTP_SERVICE_KEY=service.admin)
    result = run("code", account, "--min-validity", str(period - 1), "--no-wait", env=env)
    assert_failed_in_one_line(result, "409", "Retry-After")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["code"],
        ["code", "github-bot", "--min-validity", "ten"],
        ["verify", "github-bot"],
        ["frobnicate"],
    ],
)
def test_a_usage_error_exits_2_in_one_line(otp_client, args):
    assert_failed_in_one_line(otp_client(*args), "--help")


@pytest.mark.parametrize("missing", ["OTP_SERVICE_URL", "OTP_SERVICE_KEY"])
def test_without_url_or_key_it_exits_2_naming_the_variable(service, missing):
    given = {"OTP_SERVICE_URL": service.url, "OTP_SERVICE_KEY": service.signer, missing: None}
    assert_failed_in_one_line(run("accounts", env=environment(**given)), missing)


def test_no_service_at_the_url_exits_2_in_one_line(service):
    env = environment(OTP_SERVICE_URL=f"http://127.0.0.1:{free_port()}")
    env["OTP_SERVICE_KEY"] = service.signer
    result = run("code", "github-bot", "--max-wait", "0", env=env)
    assert_failed_in_one_line(result, "Connection refused")


def test_help_exits_0(otp_client):
    result = otp_client("--help")
    assert result.returncode == DONE
    assert "code" in result.stdout
    assert "verify" in result.stdout
