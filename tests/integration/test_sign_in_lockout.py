"""Racing wrong passwords cannot get past the lockout: on SQLite the check and the count
are one write transaction, so exactly ``failures`` guesses are ever checked."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from refundry.bootstrap import Container
from refundry.domain.errors import InvalidCredentials, SignInLocked
from refundry.domain.staff import Role
from refundry.services import transactions
from refundry.services.handlers import staff
from refundry.services.handlers.merchants import create_merchant


def test_thirty_racing_wrong_passwords_get_five_guesses_on_sqlite(
    sqlite_container: Container,
) -> None:
    # given a member and a lockout after 5 failures
    container = sqlite_container
    merchant = transactions.run(
        container.uow_factory, lambda uow: create_merchant(uow, f"Lock {uuid.uuid4().hex[:6]}")
    ).merchant.id
    email = f"guess-{uuid.uuid4().hex[:6]}@shop.example"
    transactions.run(
        container.uow_factory,
        lambda uow: staff.create_user(
            uow, merchant, email, "correct horse battery", role=Role.ADMIN
        ),
    )
    lockout = staff.Lockout(failures=5)

    # when 30 wrong passwords arrive at once
    def attempt(number: int) -> str:
        try:
            staff.sign_in(container.uow_factory, email, f"wrong-{number}-guess", None, lockout)
        except InvalidCredentials:
            return "wrong"
        except SignInLocked:
            return "locked"
        return "signed in"

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(attempt, range(30)))

    # then only 5 were checked; every other one was turned away by the lock
    assert answers.count("wrong") == 5, answers
    assert answers.count("locked") == 25, answers
