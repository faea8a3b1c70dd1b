"""One-time use of codes: a time step is accepted only if it is later than the last one."""

from django.db import connection, transaction

# Plain SQL, portable between SQLite (3.24+) and PostgreSQL: building the same statements through
# the ORM cost about ten times the query itself on every verification (bench/profile_request.py).
_ADVANCE = 'UPDATE "otp_acceptedstep" SET last_step = %s WHERE fingerprint = %s AND last_step < %s'
_FIRST = (
    'INSERT INTO "otp_acceptedstep" (fingerprint, last_step) VALUES (%s, %s) '
    "ON CONFLICT (fingerprint) DO NOTHING"
)


def accept_step(fingerprint: str, step: int) -> bool:
    """Record `step` as used for the secret; False if it, or a later step, was accepted before.

    Either the conditional UPDATE moves the mark forward, or, for a secret never used, the INSERT
    creates it; a row that exists with this step or a later one satisfies neither. Of two workers
    or instances racing with the same code, the database lets exactly one change a row (the other
    waits for its lock, then finds the condition false or the row present). Committed before the
    caller answers.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ADVANCE, [step, fingerprint, step])
        if cursor.rowcount == 1:
            return True
        cursor.execute(_FIRST, [fingerprint, step])
        return cursor.rowcount == 1
