"""One-time use of codes: a time step is accepted only if it is later than the last one."""

from django.db import connection

from otp import lock_holding

# Plain SQL, portable between SQLite (3.24+) and PostgreSQL: building the same statement through
# the ORM cost several times the query itself on every verification (bench/profile_request.py;
# docs/PERFORMANCE.md, "Plain SQL on the hot paths").
# One statement, one round trip: the mark is created, or moved forward, or left as it is.
_ACCEPT = (
    'INSERT INTO "otp_acceptedstep" (fingerprint, last_step) VALUES (%s, %s) '
    "ON CONFLICT (fingerprint) DO UPDATE SET last_step = excluded.last_step "
    'WHERE "otp_acceptedstep".last_step < excluded.last_step'
)


def accept_step(fingerprint: str, step: int) -> bool:
    """Record `step` as used for the secret; False if it, or a later step, was accepted before.

    The INSERT creates the mark for a secret never used; for one used before, the conflict's
    UPDATE moves it forward only to a later step, and a row that has this step or a later one
    is left alone (no row changed). Of two workers or instances racing with the same code, the
    database lets exactly one change the row: the other waits for its lock, then finds the
    condition false. One statement, so it needs no transaction (or savepoint, two more round
    trips) of its own: it joins the caller's, committed before the caller answers.
    """
    lock_holding.taking_locks()
    with connection.cursor() as cursor:
        cursor.execute(_ACCEPT, [fingerprint, step])
        return cursor.rowcount == 1
