"""The TOTP accounts: OTP_SECRET as the account `default`, the others sealed in the database."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from otp import audit, sealing
from otp.core import totp
from otp.core.names import DEFAULT_NAME, TEXT_LIMIT, InvalidAccount, check_name
from otp.core.otpauth import AccountSpec
from otp.core.principals import Action, Actor, Outcome
from otp.models import Account, Client, VerifyFailures


@dataclass(frozen=True)
class TotpAccount:
    """An account ready to make and check codes. Its secret never leaves the process."""

    name: str
    issuer: str
    label: str
    params: totp.Params
    secret: str = field(repr=False)
    exclusive: bool = False  # each time step's code handed out at most once


def summary(name: str, issuer: str, params: totp.Params, exclusive: bool = False) -> dict:
    """What a caller or an operator may see of an account."""
    return {
        "name": name,
        "issuer": issuer,
        "algorithm": params.algorithm,
        "digits": params.digits,
        "period": params.period,
        "exclusive": exclusive,
    }


def default_account() -> TotpAccount:
    return TotpAccount(DEFAULT_NAME, "", "", totp.DEFAULT, settings.OTP_SECRET)


def associated_data(name: str) -> str:
    """Binds a sealed secret to its account: copied onto another row, it does not open."""
    return f"account:{name}"


# Whether a refused request named a stored account (otp/api/base.py): on the flood path.
_EXISTS = 'SELECT EXISTS (SELECT 1 FROM "otp_account" WHERE name = %s)'
# Read on every request for a stored account: plain SQL, since the ORM's query building cost
# about eleven times the query itself on SQLite and twice on PostgreSQL (bench/profile_issue.py;
# docs/PERFORMANCE.md, "Plain SQL on the hot paths").
_READ = (
    'SELECT issuer, label, algorithm, digits, period, sealed_secret, exclusive FROM "otp_account" '
    "WHERE name = %s"
)
# An exclusive account's time step, claimed for one caller: one statement, atomic across workers
# and instances (the row lock orders concurrent claims; the loser updates nothing). Not tied to
# the exclusive flag: a request that read the account as exclusive just before an operator made
# it shared must still get its code, not wait step after step for a claim that cannot succeed.
_CLAIM_STEP = (
    'UPDATE "otp_account" SET last_step = %s '
    "WHERE name = %s AND (last_step IS NULL OR last_step < %s)"
)


def get_account(name: str) -> TotpAccount | None:
    """The account called `name`, its secret unsealed; None if there is none."""
    if name == DEFAULT_NAME:
        return default_account()
    with connection.cursor() as cursor:
        cursor.execute(_READ, [name])
        row = cursor.fetchone()
    if row is None:
        return None
    issuer, label, algorithm, digits, period, sealed, exclusive = row
    secret = sealing.open_sealed(sealed, associated_data(name)).decode()
    params = totp.Params(algorithm, digits, period)
    return TotpAccount(name, issuer, label, params, secret, bool(exclusive))


def claim_step(name: str, step: int) -> bool:
    """Whether `step`'s code of the exclusive account `name` is this caller's: False if it (or a
    later one) was handed out already."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_STEP, [step, name, step])
        return cursor.rowcount == 1


def account_summaries(visible=lambda name: True) -> list[dict]:
    """Name, issuer and parameters of every account `visible` admits, `default` first."""
    rows = [summary(DEFAULT_NAME, "", totp.DEFAULT)]
    stored = Account.objects.defer("sealed_secret")  # a listing opens no secret
    rows += [summary(row.name, row.issuer, _params(row), row.exclusive) for row in stored]
    return [row for row in rows if visible(row["name"])]


def _params(row: Account) -> totp.Params:
    return totp.Params(row.algorithm, row.digits, row.period)


def add_accounts(
    named_specs: list[tuple[str, AccountSpec]], actor: Actor, at: int, *, exclusive: bool = False
) -> None:
    """Store every account, or none: a bad name or one already taken raises InvalidAccount."""
    created_at = datetime.fromtimestamp(at, UTC)
    seen = set()
    for name, spec in named_specs:
        check_name(name)
        if name in seen:
            raise InvalidAccount(f'account "{name}" appears twice')
        seen.add(name)
        for what, text in (("issuer", spec.issuer), ("label", spec.label)):
            if len(text) > TEXT_LIMIT:
                raise InvalidAccount(f"{what} is longer than {TEXT_LIMIT} characters")
    with transaction.atomic():
        taken = set(Account.objects.filter(name__in=seen).values_list("name", flat=True))
        if taken:
            raise InvalidAccount(f'account "{min(taken)}" already exists')
        for name, spec in named_specs:
            try:
                with transaction.atomic():
                    Account.objects.create(
                        name=name,
                        issuer=spec.issuer,
                        label=spec.label,
                        algorithm=spec.params.algorithm,
                        digits=spec.params.digits,
                        period=spec.params.period,
                        sealed_secret=sealing.seal(spec.secret.encode(), associated_data(name)),
                        created_at=created_at,
                        exclusive=exclusive,
                    )
            except IntegrityError:
                # Added by someone else between the check and now.
                raise InvalidAccount(f'account "{name}" already exists') from None
            audit.record(actor, action=Action.ACCOUNT_ADD, outcome=Outcome.OK, account=name, at=at)


def remove_account(name: str, actor: Actor, at: int) -> bool:
    """Delete the account and every client's grant of it; False if there was none."""
    with transaction.atomic():
        deleted, _ = Account.objects.filter(name=name).delete()
        if not deleted:
            return False
        # A later account of the same name must not inherit this one's clients or failure
        # count. Its one-time-use mark stays: it belongs to the secret, not the name.
        VerifyFailures.objects.filter(account=name).delete()
        for client in Client.objects.select_for_update().filter(all_accounts=False):
            if name in client.accounts:
                client.accounts = [granted for granted in client.accounts if granted != name]
                client.save(update_fields=["accounts"])
        audit.record(actor, action=Action.ACCOUNT_REMOVE, outcome=Outcome.OK, account=name, at=at)
    return True


def is_stored(name: str) -> bool:
    """Whether an account called `name` is held in the database."""
    with connection.cursor() as cursor:
        cursor.execute(_EXISTS, [name])
        return bool(cursor.fetchone()[0])


def set_exclusive(name: str, exclusive: bool, actor: Actor, at: int) -> bool:
    """Make a stored account exclusive or shared again; False if there is none."""
    with transaction.atomic():
        if not Account.objects.filter(name=name).update(exclusive=exclusive):
            return False
        action = Action.ACCOUNT_EXCLUSIVE if exclusive else Action.ACCOUNT_SHARED
        audit.record(actor, action=action, outcome=Outcome.OK, account=name, at=at)
    return True
