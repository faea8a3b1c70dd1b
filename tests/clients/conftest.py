"""The client's tests (clients/python): a live otp-service with accounts and scoped keys, made
by the operator commands, and what the service logged."""

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest

from otp.core import totp
from tests.clients.stub import FakeTime, serving
from tests.support.commands import manage
from tests.support.servers import Server, start_gunicorn

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
# The venv's console script, as pip installed it from requirements-dev.txt.
OTP_CLIENT = Path(sys.executable).with_name("otp-client")
# Test secrets (base32 of 20 bytes), one per account; each account's period is the second item.
ACCOUNTS = {
    "github-bot": ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 30),
    # Short: a min_validity wait lasts seconds, not half a minute.
    "quick": ("KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF", 15),
    # Long, in pairs (mid_window_account): min_validity=period-1 is not met but in the first
    # seconds of a window, and the two windows' boundaries almost never coincide.
    "slow": ("MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U", 120),
    "slower": ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJR", 119),
    # Exclusive: each time step's code goes to one caller.
    "solo": ("ONSWG4TFORZW633MN5ZWKY3SMV2HG33M", 120),
    "solo-b": ("NBSWY3DPO5XXE3DEMFRGGZDFMZTWQ2LK", 119),
}
EXCLUSIVE = ("solo", "solo-b")
PARAMS = {"default": totp.DEFAULT} | {
    name: totp.Params(period=period) for name, (_, period) in ACCOUNTS.items()
}
SECRETS = {"default": OTP_SECRET} | {name: secret for name, (secret, _) in ACCOUNTS.items()}


@pytest.fixture(autouse=True)
def _database():
    """Overrides the suite's: these tests talk to real servers, not to Django's test database."""


@dataclass
class Service:
    """A gunicorn of the shipped configuration, its accounts, and keys of three kinds:
    `admin` (API_KEY: every account, every action), `signer` (a client that must sign: every
    request it makes with its key sent as X-API-Key is refused), `fetcher` (may fetch codes of
    github-bot only, not verify)."""

    server: Server
    data_dir: Path
    signer: str
    fetcher: str
    admin: str = API_KEY

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.server.log().splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def refusals(self) -> int:
        """How many requests the service has answered 401 so far (its access log)."""
        return sum(
            1
            for line in self.log_lines()
            if line.get("logger") == "otp.access" and line.get("status") == HTTPStatus.UNAUTHORIZED
        )


def code_at(account: str, at: int) -> str:
    """The account's code at unix time `at`, computed here from its secret."""
    return totp.code_at(SECRETS[account], at, PARAMS[account])


def seconds_left(account: str, at: float) -> int:
    return totp.seconds_left(int(at), PARAMS[account])


def mid_window_account(candidates: tuple[str, str], now: float) -> str:
    """Of two accounts of long, different periods, one whose window began 3 s or more before
    `now` and ends 3 s or more after it: a request sent now reaches the service in that window
    (its min_validity=period-1 is not met; a second code of it is not out)."""
    for account in candidates:
        left = seconds_left(account, now)
        if 3 <= left <= PARAMS[account].period - 3:
            return account
    raise AssertionError("both windows are within 3 s of a boundary: a few seconds in 4 hours")


def new_key(data_dir: Path, name: str, *options: str) -> str:
    made = manage(data_dir, "otp", "client", "create", name, *options, "--quiet", check=True)
    return made.stdout.strip()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("otp-service")
    server = start_gunicorn(folder)
    try:
        data_dir = folder / "data"
        lines = "".join(
            f"{name} otpauth://totp/Test:{name}?secret={secret}&issuer=Test&period={period}\n"
            for name, (secret, period) in ACCOUNTS.items()
        )
        manage(data_dir, "otp", "account", "import", "-", stdin=lines, check=True)
        for name in EXCLUSIVE:
            manage(data_dir, "otp", "account", "set", name, "--exclusive", check=True)
        signer = new_key(
            data_dir,
            "signer",
            *("--account", "github-bot", "--account", "quick", "--account", "default"),
            *("--issue", "--verify", "--require-signature"),
        )
        fetcher = new_key(data_dir, "fetcher", "--account", "github-bot", "--issue")
        yield Service(server, data_dir, signer=signer, fetcher=fetcher)
    finally:
        server.stop()


@pytest.fixture
def clean_log(service):
    """After the test: the service logged no traceback, no API key and no secret."""
    yield
    text = service.server.log()
    assert "Traceback" not in text
    for value in (service.admin, service.signer, service.fetcher, *SECRETS.values()):
        assert value not in text


@pytest.fixture
def stub():
    """stub(*replies): a scripted server on 127.0.0.1 (tests/clients/stub.py)."""
    with serving() as serve:
        yield serve


@pytest.fixture
def fake_time():
    return FakeTime()
