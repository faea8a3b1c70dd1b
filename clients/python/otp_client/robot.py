"""Robot Framework keywords: `Library    otp_client.robot.OTPService    URL    KEY`."""

from otp_client import __version__
from otp_client.client import DEFAULT_MAX_WAIT, DEFAULT_TIMEOUT, Client


def _keyword(name: str):
    # What robot.api.deco.keyword sets, without importing Robot Framework: the client is
    # installed on hosts that do not have it.
    def named(method):
        method.robot_name = name
        return method

    return named


class OTPService:
    """TOTP codes from otp-service, for RPA bots and tests.

    Unlike a library that computes codes itself (RPA.MFA's _Get Time Based OTP_), the bot
    holds no TOTP secret: it asks the service, with a signed request, and the secret never
    leaves the service.

    | Library | otp_client.robot.OTPService | https://otp.example.com | %{OTP_SERVICE_KEY} |
    | ${code}= | Get OTP | github-bot | min_validity=10 |
    | Input Text | id:otp | ${code} |
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_wait: float = DEFAULT_MAX_WAIT,
    ):
        """`url` and `key` default to the OTP_SERVICE_URL and OTP_SERVICE_KEY environment
        variables: leaving the key to the environment keeps it out of the suite and its logs.
        `timeout` bounds each network step, `max_wait` the waiting on top of it (Retry-After
        pauses, the service holding a code back for `min_validity`).
        """
        self._options = {"url": url, "key": key, "timeout": timeout, "max_wait": max_wait}
        self._made: Client | None = None

    @property
    def _client(self) -> Client:
        # Made at the first keyword, not at import: Libdoc and editors import the library
        # where no service is configured.
        if self._made is None:
            options = self._options
            self._made = Client(
                options["url"],
                options["key"],
                timeout=options["timeout"],
                max_wait=options["max_wait"],
            )
        return self._made

    @_keyword("Get OTP")
    def get_otp(self, account: str, min_validity: int | None = None) -> str:
        """Returns the account's current code as a string ("default" is OTP_SECRET).

        With `min_validity`, a code valid at least that many more seconds: the service waits
        for the next code if the current one is about to expire.
        """
        return self._client.code(account, min_validity=min_validity).otp

    @_keyword("Verify OTP")
    def verify_otp(self, account: str, code: str) -> bool:
        """Returns True if `code` is valid for the account now, else False. The service
        accepts each code once."""
        return self._client.verify(account, str(code))

    @_keyword("List Accounts")
    def list_accounts(self) -> list[str]:
        """Returns the names of the accounts the key may use, "default" first."""
        return [account.name for account in self._client.accounts()]
