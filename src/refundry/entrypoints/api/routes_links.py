"""Gift-card links: the consumer's page (first open recorded) and the spending API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import Field

from refundry.domain.errors import LinkAlreadyCancelled, LinkExpired, LinkNotFound
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.order import Order
from refundry.entrypoints.api import fields, schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.presenters import link_model
from refundry.entrypoints.api.responses import mutate
from refundry.services import transactions
from refundry.services.clock import utcnow
from refundry.services.handlers import orders
from refundry.services.unit_of_work import UnitOfWork

router = APIRouter(tags=["gift-card links"])
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _page(state: str, status_code: int, link: GiftCardLink | None = None) -> HTMLResponse:
    context: dict[str, str] = {"state": state, "title": "Gift card"}
    if link is not None:
        context |= {
            "value": str(link.value),
            "balance": str(link.balance),
            "expires": link.expires_at.date().isoformat(),
        }
    html = templates.get_template("link.html").render(**context)
    # A link page is personal: never cached by a proxy or shown to a crawler.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status_code, headers=headers)


@router.get("/l/{token}", response_class=HTMLResponse, include_in_schema=False)
def open_link(
    token: Annotated[fields.Text[Annotated[str, Field(max_length=64)]], PathParam()],
    container: ContainerDep,
) -> HTMLResponse:
    """The consumer's link. The first open is recorded; a dead link says why it is dead."""
    try:
        _, link = transactions.run(container.uow_factory, lambda uow: orders.open_link(uow, token))
    except LinkNotFound:
        return _page("missing", 404)
    except LinkExpired:
        return _page("expired", 410, _peek(container, token))
    except LinkAlreadyCancelled:
        return _page("cancelled", 410)
    return _page("ok", 200, link)


def _peek(container: ContainerDep, token: str) -> GiftCardLink | None:
    def find(uow: UnitOfWork) -> GiftCardLink | None:
        found = uow.orders.find_link_order(token=token)
        if found is None:
            return None
        order: Order = uow.orders.get(*found)
        return next(link for link in order.links if link.token == token)

    return transactions.read(container.uow_factory, find)


@router.post(
    "/v1/links/{link_id}/spend", response_model=schemas.LinkSpentOut, tags=["gift-card links"]
)
def spend_link(
    link_id: uuid.UUID,
    body: schemas.SpendIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Record value spent from a link (by the merchant's redemption system)."""

    def present(result: tuple[Order, GiftCardLink]) -> dict[str, object]:
        order, link = result
        return schemas.LinkSpentOut(order_id=order.id, link=link_model(link, utcnow())).model_dump(
            mode="json"
        )

    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: orders.spend_link(uow, caller.merchant_id, link_id, body.amount),
        present=present,
    )
