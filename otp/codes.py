"""Handing out and checking codes, each on the record before the caller hears the answer."""

import threading
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, transaction

from otp import accounts, audit, lock_holding
from otp.accounts import TotpAccount
from otp.core import totp
from otp.core.principals import Action, Actor, Outcome
from otp.guards import backoff
from otp.guards.replay import accept_step


def issue(account: TotpAccount, actor: Actor, at: int) -> dict | None:
    """The /otp body for `account` at `at`, once its audit record is written (else it raises
    and no code leaves the service). None for an exclusive account whose code of this time
    step was handed out already: the caller waits for the next step."""
    step = totp.time_step(at, account.params)
    if account.exclusive:
        # The claim and the record together, or neither: a step is not used up by a code that
        # never left for want of its record.
        with transaction.atomic():
            if not accounts.claim_step(account.name, step):
                return None
            _record_issue(account, actor, at, step)
    else:
        # One statement: in autocommit it is committed before the code is computed, without
        # the BEGIN and COMMIT round trips an explicit transaction costs on PostgreSQL.
        _record_issue(account, actor, at, step)
    return {
        "otp": totp.code_at(account.secret, at, account.params),
        "valid_for_seconds": totp.seconds_left(at, account.params),
        "timestamp": at,
    }


def _record_issue(account: TotpAccount, actor: Actor, at: int, step: int) -> None:
    audit.record(
        actor, action=Action.ISSUE, outcome=Outcome.ISSUED, account=account.name, at=at, step=step
    )


@dataclass(frozen=True)
class Verification:
    outcome: Outcome  # VALID, INVALID, REPLAYED or THROTTLED
    retry_after: int = 0  # seconds, when throttled


# Verifications of one account take turns on its counter's row lock in the database. Within a
# worker process (whose gevent workers serve many requests at once) they take turns here first,
# so that the database's queue for that lock holds at most one of each worker's requests; and
# while one holds the locks, its worker stays with it (otp.lock_holding; docs/PERFORMANCE.md:
# verify on PostgreSQL).
_turns: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_turns_guard = threading.Lock()
# How long a verification waits for its turn. A turn normally lasts milliseconds; behind one
# stuck on a database that stopped answering (which gives up after its storage budget,
# otpsite/postgres/deadline.py), each queued verification would add a wait of its own for a
# connection, and the last would answer long after 5 s. Instead they answer 503 in time.
TURN_SECONDS = 3.0


def verify(account: TotpAccount, code: str, actor: Actor, at: int) -> Verification:
    """Check `code` once: the failure count, the one-time-use mark and the audit record change
    together in one transaction, or not at all."""
    with _turns_guard:
        turn = _turns[account.name]
    if not turn.acquire(timeout=TURN_SECONDS):
        # The storage outage path: a 503, logged as the database's.
        raise OperationalError("an earlier verification of the account has not finished")
    try:
        with lock_holding.transaction_scope(), transaction.atomic():
            return _check_and_record(account, code, actor, at)
    finally:
        turn.release()


def _check_and_record(account: TotpAccount, code: str, actor: Actor, at: int) -> Verification:
    counter = backoff.lock_counter(account.name) if settings.VERIFY_FAILURE_LIMIT else None
    wait = backoff.seconds_blocked(counter, at) if counter else 0
    if wait:
        result = Verification(Outcome.THROTTLED, wait)
    else:
        result = Verification(_check(account, code, at))
        if counter and result.outcome == Outcome.INVALID:
            backoff.count_failure(counter, at)
        elif counter and result.outcome == Outcome.VALID:
            backoff.reset(counter)
    audit.record(actor, action=Action.VERIFY, outcome=result.outcome, account=account.name, at=at)
    return result


def _check(account: TotpAccount, code: str, at: int) -> Outcome:
    """VALID, INVALID or REPLAYED: a matching code is valid only the first time its time
    step (or a later one) is used."""
    step = totp.matching_step(account.secret, code, at, account.params)
    if step is None:
        return Outcome.INVALID
    fingerprint = totp.fingerprint(account.secret, account.params)
    return Outcome.VALID if accept_step(fingerprint, step) else Outcome.REPLAYED
