"""Which account a caller may act on, with every refusal on the audit trail."""

from otp import audit
from otp.accounts import TotpAccount, get_account
from otp.core.names import ACCOUNT_NAME
from otp.core.principals import Action, Actor, Caller, Outcome
from otp.exceptions import AccountNotFound, ActionNotAllowed


def account_for(caller: Caller, actor: Actor, name: str, action: Action, at: int) -> TotpAccount:
    """The account `name` if `caller` may do `action` on it.

    AccountNotFound if it may not see it or there is none (one answer, so a client cannot learn
    which names exist), ActionNotAllowed if it may see it but not do that.
    """
    if not ACCOUNT_NAME.fullmatch(name):
        # Not a name any account can have; not recorded as sent (it could be anything).
        audit.record(actor, action=action, outcome=Outcome.NOT_FOUND, at=at)
        raise AccountNotFound()
    account = get_account(name) if caller.may_see(name) else None
    if account is None:
        audit.record(actor, action=action, outcome=Outcome.NOT_FOUND, account=name, at=at)
        raise AccountNotFound()
    if not caller.may(action, name):
        audit.record(actor, action=action, outcome=Outcome.DENIED, account=name, at=at)
        raise ActionNotAllowed()
    return account
