"""otp.lock_holding: a request is marked as holding row locks only from the statement that takes
them to the end of its transaction's scope, and never outside one."""

from otp import lock_holding


def test_taking_locks_outside_a_transaction_scope_marks_nothing():
    lock_holding.taking_locks()
    assert not lock_holding.holding()


def test_a_scope_holds_from_taking_locks_to_its_end():
    with lock_holding.transaction_scope():
        assert not lock_holding.holding()
        lock_holding.taking_locks()
        assert lock_holding.holding()
    assert not lock_holding.holding()
    lock_holding.taking_locks()
    assert not lock_holding.holding()


def test_a_scope_ends_on_an_exception_too():
    try:
        with lock_holding.transaction_scope():
            lock_holding.taking_locks()
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert not lock_holding.holding()
