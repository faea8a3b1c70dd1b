"""One-time use of codes: a time step is accepted only if it is later than the last one."""

from django.db import transaction

from otp.models import AcceptedStep


def accept_step(fingerprint: str, step: int) -> bool:
    """Record `step` as used for the secret; False if it, or a later step, was accepted before.

    The check and the record are one conditional UPDATE inside a transaction: of two workers or
    instances racing with the same code, the database lets exactly one through. Committed before
    the caller answers.
    """
    with transaction.atomic():
        AcceptedStep.objects.get_or_create(fingerprint=fingerprint, defaults={"last_step": -1})
        updated = AcceptedStep.objects.filter(fingerprint=fingerprint, last_step__lt=step).update(
            last_step=step
        )
    return updated == 1
