"""Saved views of the Orders and Returns lists: a member's own, named, checked choices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from refundry.domain.errors import InvalidInput
from refundry.domain.saved_views import (
    MAX_VIEWS,
    Listing,
    SavedViewNotFound,
    ViewAlreadySaved,
    ViewFilters,
    ViewLimitReached,
    ViewNameInvalid,
    ViewNameTaken,
)
from refundry.domain.staff import Role, StaffMember
from refundry.services.handlers import saved_views
from refundry.services.handlers.saved_views import save_view
from refundry.services.transactions import read, run
from tests.unit.fakes import FakeUnitOfWork, FakeUnitOfWorkFactory


def a_member(merchant_id: uuid.UUID) -> StaffMember:
    return StaffMember(
        uuid.uuid4(),
        merchant_id,
        f"{uuid.uuid4().hex[:6]}@shop.example",
        Role.STAFF,
        frozenset(),
        datetime(2026, 12, 6, tzinfo=UTC),
    )


@pytest.fixture
def member(merchant_id: uuid.UUID) -> StaffMember:
    return a_member(merchant_id)


def views_of(uow_factory: FakeUnitOfWorkFactory, member: StaffMember, listing: Listing) -> list:
    return read(
        uow_factory,
        lambda uow: uow.saved_views.of_member(member.merchant_id, member.id, listing),
    )


def test_a_view_keeps_the_lists_choices_under_its_name(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    # when a member saves paid orders of one customer, highest total first
    saved = run(
        uow_factory,
        lambda uow: save_view(
            uow, member, Listing.ORDERS, "  Mia's   big orders ",
            status="paid", search=" mia@example.com ", sort="total-desc",
        ),
    )  # fmt: skip
    # then it is theirs, its name on one line, its choices trimmed, in the list's words
    assert views_of(uow_factory, member, Listing.ORDERS) == [saved]
    assert saved.name == "Mia's big orders"
    assert saved.filters == ViewFilters("paid", "mia@example.com", "total-desc")
    assert saved.filters.params() == {
        "status": "paid",
        "query": "mia@example.com",
        "sort": "total-desc",
    }
    assert views_of(uow_factory, member, Listing.RETURNS) == []


def test_the_lists_defaults_are_kept_as_no_choice(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    saved = run(
        uow_factory,
        lambda uow: save_view(uow, member, Listing.ORDERS, "Newest", status="", sort="newest"),
    )
    assert saved.filters == ViewFilters()
    assert saved.filters.params() == {}


@pytest.mark.parametrize(
    ("listing", "choices"),
    [
        (Listing.ORDERS, {"status": "open"}),  # a return status, not an order's
        (Listing.ORDERS, {"sort": "https://evil.example/"}),
        (Listing.RETURNS, {"status": "paid"}),
        (Listing.RETURNS, {"sort": "total-desc"}),  # Returns sorts by amount, not total
        (Listing.ORDERS, {"search": "x" * 321}),
    ],
)
def test_a_choice_the_list_does_not_know_is_refused_and_nothing_is_kept(
    uow_factory: FakeUnitOfWorkFactory,
    member: StaffMember,
    listing: Listing,
    choices: dict[str, str],
) -> None:
    with pytest.raises(InvalidInput):
        run(uow_factory, lambda uow: save_view(uow, member, listing, "Mine", **choices))
    assert views_of(uow_factory, member, listing) == []


def test_the_returns_list_keeps_its_cancellations_tab_and_a_return_status(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    for name, status in (("Cancelled orders", "cancellations"), ("To receive", "open")):
        run(uow_factory, lambda uow: save_view(uow, member, Listing.RETURNS, name, status=status))
    kept = views_of(uow_factory, member, Listing.RETURNS)
    assert [view.filters.status for view in kept] == ["cancellations", "open"]


def test_the_returns_list_keeps_a_sort_and_its_default_as_none(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    for name, sort in (("Biggest", "amount-desc"), ("Oldest", "oldest"), ("Plain", "newest")):
        run(uow_factory, lambda uow: save_view(uow, member, Listing.RETURNS, name, sort=sort))
    kept = views_of(uow_factory, member, Listing.RETURNS)
    assert [view.filters.sort for view in kept] == ["amount-desc", "oldest", None]


@pytest.mark.parametrize(("name", "length"), [("", 0), ("   ", 0), ("x" * 41, 41)])
def test_a_blank_or_too_long_name_is_refused(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember, name: str, length: int
) -> None:
    with pytest.raises(ViewNameInvalid) as refused:
        run(uow_factory, lambda uow: save_view(uow, member, Listing.ORDERS, name, status="paid"))
    assert refused.value.extensions == {"length": length, "most": 40}
    assert views_of(uow_factory, member, Listing.ORDERS) == []


def test_a_name_of_forty_characters_is_kept(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    saved = run(uow_factory, lambda uow: save_view(uow, member, Listing.ORDERS, "x" * 40))
    assert saved.name == "x" * 40


def test_a_name_in_use_in_any_case_or_the_same_choices_are_refused(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    run(uow_factory, lambda uow: save_view(uow, member, Listing.ORDERS, "Big", sort="total-desc"))
    with pytest.raises(ViewNameTaken) as taken:
        run(uow_factory, lambda uow: save_view(uow, member, Listing.ORDERS, "bIG", status="paid"))
    assert taken.value.extensions == {"name": "Big"}
    with pytest.raises(ViewAlreadySaved) as same:
        run(
            uow_factory,
            lambda uow: save_view(uow, member, Listing.ORDERS, "Other", sort="total-desc"),
        )
    assert same.value.extensions == {"name": "Big"}
    # the same name on the other list, or another member's, is theirs to use
    run(uow_factory, lambda uow: save_view(uow, member, Listing.RETURNS, "Big", status="open"))
    colleague = a_member(member.merchant_id)
    run(uow_factory, lambda uow: save_view(uow, colleague, Listing.ORDERS, "Big", status="paid"))
    assert len(views_of(uow_factory, member, Listing.ORDERS)) == 1


def test_a_member_keeps_at_most_twenty_views_per_list(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    for number in range(MAX_VIEWS):
        run(
            uow_factory,
            lambda uow: save_view(
                uow, member, Listing.ORDERS, f"View {number}", search=f"{number}"
            ),
        )
    with pytest.raises(ViewLimitReached):
        run(uow_factory, lambda uow: save_view(uow, member, Listing.ORDERS, "One more"))
    assert len(views_of(uow_factory, member, Listing.ORDERS)) == MAX_VIEWS
    run(uow_factory, lambda uow: save_view(uow, member, Listing.RETURNS, "Returns: own limit"))


def test_a_member_deletes_their_own_view_and_no_one_elses(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember, merchant_id: uuid.UUID
) -> None:
    mine = run(uow_factory, lambda uow: save_view(uow, member, Listing.ORDERS, "Mine"))
    colleague = a_member(merchant_id)
    stranger = a_member(uuid.uuid4())  # another merchant's member
    for other in (colleague, stranger):
        with pytest.raises(SavedViewNotFound):
            run(uow_factory, lambda uow: saved_views.delete_view(uow, other, mine.id))
    assert views_of(uow_factory, member, Listing.ORDERS) == [mine]
    deleted = run(uow_factory, lambda uow: saved_views.delete_view(uow, member, mine.id))
    assert deleted == mine
    assert views_of(uow_factory, member, Listing.ORDERS) == []
    with pytest.raises(SavedViewNotFound):
        run(uow_factory, lambda uow: saved_views.delete_view(uow, member, mine.id))


def test_a_save_locks_the_members_views_before_it_checks_them(
    uow_factory: FakeUnitOfWorkFactory, member: StaffMember
) -> None:
    # the limit and the same-choices check read the member's views: a save racing this one
    # must wait for it, not pass the same checks (the database keeps only names unique)
    def save_and_tell_locks(uow: FakeUnitOfWork) -> list[tuple[uuid.UUID, uuid.UUID]]:
        save_view(uow, member, Listing.ORDERS, "Paid", status="paid")
        return uow.saved_views.locked

    locked = run(uow_factory, save_and_tell_locks)
    assert locked == [(member.merchant_id, member.id)]
