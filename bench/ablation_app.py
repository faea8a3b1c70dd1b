"""The Django app with one piece of audited issuance taken out, to measure that piece under load.

A benchmark fixture, never a way to serve: BENCH_APPS="django ablated" with
BENCH_SERVER_ENV="BENCH_ABLATE=<what>" loads it next to the app as shipped. <what> is
  line         the audit log line off (its logger writes nothing); the row is still written
  record       audit.record a no-op: no row and no line, anywhere; issuing keeps its transaction,
               now empty (on SQLite still BEGIN IMMEDIATE and COMMIT)
  transaction  issuing without its transaction and without the record: the body alone
"""

import logging
import os

from otpsite.wsgi import application  # sets Django up, which otp's modules need first


def _ablate(what: str) -> None:
    from otp import audit, codes
    from otp.core import totp

    def issue_without_record(account, actor, at):
        return {
            "otp": totp.code_at(account.secret, at, account.params),
            "valid_for_seconds": totp.seconds_left(at, account.params),
            "timestamp": at,
        }

    if what == "line":
        # A logger of its own that writes nothing: setting `disabled` on otp.audit would not
        # last, since django.setup() runs again at start (prepare_storage) and dictConfig
        # re-enables every existing logger.
        audit.audit_log = logging.Logger("bench.audit-line-off", level=logging.CRITICAL + 1)
    elif what == "record":
        audit.record = lambda *args, **kwargs: None
    elif what == "transaction":
        codes.issue = issue_without_record
    else:
        raise SystemExit('bench: BENCH_ABLATE must be "line", "record" or "transaction"')


_ablate(os.environ.get("BENCH_ABLATE", ""))
__all__ = ["application"]
