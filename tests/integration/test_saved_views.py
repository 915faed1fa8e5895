"""Saved views on SQLite and PostgreSQL: kept as one member's of one merchant, one name
per member and list in any case (the database refuses a second, so two saves racing
cannot both win), read back on the read side, deleted only by their owner."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import sqlalchemy as sa

from refundry.bootstrap import Container
from refundry.domain.saved_views import Listing, SavedView, ViewAlreadySaved, ViewFilters
from refundry.domain.staff import StaffMember
from refundry.services import messagebus, transactions
from refundry.services.handlers import saved_views, staff
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from refundry.services.views.saved_views import views_of


def a_member(container: Container, merchant_id: uuid.UUID) -> StaffMember:
    email = f"views-{uuid.uuid4().hex[:8]}@shop.example"
    return transactions.run(
        container.uow_factory,
        lambda uow: staff.create_user(uow, merchant_id, email, "correct horse battery"),
    )


def listed(container: Container, member: StaffMember, listing: Listing) -> list[SavedView]:
    return transactions.query(container.read_models, lambda read: views_of(read, member, listing))


def test_views_are_kept_and_read_back_as_their_members_own(
    container: Container, merchant: NewMerchant
) -> None:
    # given two members of one shop and a member of another
    merchant_id = merchant.merchant.id
    member, colleague = a_member(container, merchant_id), a_member(container, merchant_id)
    other_shop = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    stranger = a_member(container, other_shop.merchant.id)
    # when the first saves two views of Orders and one of Returns
    first = transactions.run(
        container.uow_factory,
        lambda uow: saved_views.save_view(
            uow, member, Listing.ORDERS, "Big paid", status="paid", sort="total-desc"
        ),
    )
    second = transactions.run(
        container.uow_factory,
        lambda uow: saved_views.save_view(
            uow, member, Listing.ORDERS, "Ünïcode “Mia”", search="mia@example.com"
        ),
    )
    transactions.run(
        container.uow_factory,
        lambda uow: saved_views.save_view(
            uow, member, Listing.RETURNS, "Cancelled", status="cancellations"
        ),
    )
    # then they read back whole, oldest first, each list its own, and no one else has any
    assert listed(container, member, Listing.ORDERS) == [first, second]
    assert second.filters == ViewFilters(search="mia@example.com")
    assert [view.name for view in listed(container, member, Listing.RETURNS)] == ["Cancelled"]
    assert listed(container, colleague, Listing.ORDERS) == []
    assert listed(container, stranger, Listing.ORDERS) == []


def test_the_database_keeps_one_name_per_member_and_list_in_any_case(
    container: Container, merchant: NewMerchant
) -> None:
    member = a_member(container, merchant.merchant.id)
    kept = transactions.run(
        container.uow_factory,
        lambda uow: saved_views.save_view(uow, member, Listing.ORDERS, "Straße", status="paid"),
    )
    # a save that raced past the handler's check: the repository itself refuses it
    racer = replace(kept, id=uuid.uuid4(), name="STRASSE", filters=ViewFilters(sort="oldest"))
    added = transactions.run(container.uow_factory, lambda uow: uow.saved_views.add(racer))
    assert added is False
    # the same name on the other list is another view
    other_list = replace(racer, id=uuid.uuid4(), name="Straße", listing=Listing.RETURNS)
    assert transactions.run(container.uow_factory, lambda uow: uow.saved_views.add(other_list))
    assert listed(container, member, Listing.ORDERS) == [kept]


def test_only_the_owner_deletes_a_view(container: Container, merchant: NewMerchant) -> None:
    merchant_id = merchant.merchant.id
    member, colleague = a_member(container, merchant_id), a_member(container, merchant_id)
    view = transactions.run(
        container.uow_factory,
        lambda uow: saved_views.save_view(uow, member, Listing.ORDERS, "Mine", status="paid"),
    )
    # another member's delete, even naming this merchant, finds nothing and removes nothing
    assert (
        transactions.run(
            container.uow_factory,
            lambda uow: uow.saved_views.delete(merchant_id, colleague.id, view.id),
        )
        is None
    )
    assert (
        transactions.run(
            container.uow_factory,
            lambda uow: uow.saved_views.delete(uuid.uuid4(), member.id, view.id),
        )
        is None
    )
    assert listed(container, member, Listing.ORDERS) == [view]
    deleted = transactions.run(
        container.uow_factory, lambda uow: saved_views.delete_view(uow, member, view.id)
    )
    assert deleted == view
    assert listed(container, member, Listing.ORDERS) == []


@pytest.mark.parametrize(
    "container", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_second_save_of_the_same_choices_waits_for_the_first_and_is_refused(
    container: Container, merchant: NewMerchant
) -> None:
    member = a_member(container, merchant.merchant.id)
    with ThreadPoolExecutor(1) as pool, container.uow_factory() as first:
        # given a save of the member's that has checked and written, not yet committed
        saved_views.save_view(first, member, Listing.ORDERS, "Paid", status="paid")
        # when a second save of the same choices, under another name, starts meanwhile
        second = pool.submit(
            transactions.run,
            container.uow_factory,
            lambda uow: saved_views.save_view(uow, member, Listing.ORDERS, "Also", status="paid"),
        )
        # (it either waits on the first's lock, or, with no lock, has saved already)
        for _ in range(3000):
            if second.done() or waiting_on_a_lock(container):
                break
            time.sleep(0.01)
        messagebus.commit(first)
    # then it read the first's view once that was committed, and saved nothing
    with pytest.raises(ViewAlreadySaved):
        second.result(timeout=30)
    assert [view.name for view in listed(container, member, Listing.ORDERS)] == ["Paid"]


def waiting_on_a_lock(container: Container) -> bool:
    with container.engine.connect() as connection:
        waiting = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()
    return bool(waiting)
