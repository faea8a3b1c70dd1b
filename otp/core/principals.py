"""Who acts and what they do: the caller a request authenticates as, the actor on the audit
trail, and the audit trail's vocabulary of actions and outcomes."""

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class Action(StrEnum):
    """What an audit record says was done (its `action` column)."""

    ISSUE = "issue"
    VERIFY = "verify"
    AUTHENTICATE = "authenticate"  # a refused authentication
    ACCOUNT_ADD = "account.add"
    ACCOUNT_REMOVE = "account.remove"
    ACCOUNT_EXCLUSIVE = "account.exclusive"  # set exclusive: one caller per code
    ACCOUNT_SHARED = "account.shared"  # set shared again
    CLIENT_CREATE = "client.create"
    CLIENT_REVOKE = "client.revoke"
    CLIENT_ROTATE = "client.rotate"
    REKEY = "rekey"
    AUDIT_PURGE = "audit.purge"
    # Reading GET /metrics: a grant. A scrape is not recorded; one refused to a client without
    # the grant is (denied), as a failed authentication is (AUTHENTICATE).
    READ_METRICS = "metrics"


class Outcome(StrEnum):
    """How it ended (the `outcome` column)."""

    OK = "ok"  # an operator's change
    ISSUED = "issued"
    VALID = "valid"
    INVALID = "invalid"
    REPLAYED = "replayed"
    THROTTLED = "throttled"
    NOT_FOUND = "not_found"
    DENIED = "denied"
    MISSING = "missing"  # no credentials
    FAILED = "failed"  # wrong credentials
    LOCKED_OUT = "locked_out"


# Refused authentications: counted by the minute on the audit trail, not one record each.
REFUSALS = frozenset({Outcome.MISSING, Outcome.FAILED, Outcome.LOCKED_OUT})


@dataclass(frozen=True)
class Caller:
    """The authenticated principal: what it may see and do. The service has no user accounts.

    Every grant is spelled out: a caller built without them could do nothing.
    """

    name: str
    key_id: str
    all_accounts: bool
    accounts: frozenset[str]
    may_issue: bool
    may_verify: bool
    may_read_metrics: bool
    requires_signature: bool
    is_authenticated: ClassVar[bool] = True

    def may_see(self, account: str) -> bool:
        return self.all_accounts or account in self.accounts

    def may(self, action: Action, account: str) -> bool:
        # An action that is not a grant is a KeyError, never a silent yes.
        allowed = {Action.ISSUE: self.may_issue, Action.VERIFY: self.may_verify}[action]
        return allowed and self.may_see(account)

    @property
    def may_use_codes(self) -> bool:
        """Whether its key can fetch or check a code: such a key never travels where signed
        requests are required."""
        return self.may_issue or self.may_verify


# The client column of the operator's own changes; no client may be called this.
OPERATOR = "operator"


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: a client over HTTP, or the operator at the command line (whose
    changes to a client are recorded under that client's name)."""

    client: str
    key_id: str = ""
    address: str = ""
    request_id: str = ""
