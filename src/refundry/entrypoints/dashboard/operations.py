"""Operations: webhook endpoints with each event's delivery log and a redeliver button
(webhooks permission); the merchant's float with its pending credits and invoices; a
customer's points ledger."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import FloatNotOpen
from refundry.domain.merchant_float import Invoice
from refundry.domain.staff import Permission
from refundry.domain.webhooks import Delivery, WebhookEndpoint, WebhookEvent
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.customers import Email
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import CsrfToken, current_session, to_login
from refundry.services import transactions
from refundry.services.handlers import merchant_float, points, webhooks
from refundry.services.handlers.merchant_float import FloatSummary
from refundry.services.ports.read_model import ReadModel
from refundry.services.unit_of_work import UnitOfWork
from refundry.services.views import points as points_views

router = APIRouter(include_in_schema=False)  # mounted at /dashboard


@router.get("/webhooks")
def webhook_page(request: Request, container: ContainerDep) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.WEBHOOKS)
    merchant_id = current.member.merchant_id

    def load(
        uow: UnitOfWork,
    ) -> tuple[list[WebhookEndpoint], list[WebhookEvent], dict[uuid.UUID, list[Delivery]]]:
        events, _ = webhooks.list_events(uow, merchant_id, limit=50)
        logs = {event.id: webhooks.event_deliveries(uow, merchant_id, event.id) for event in events}
        return webhooks.list_endpoints(uow, merchant_id), events, logs

    endpoints, events, logs = transactions.read(container.uow_factory, load)
    return render(request, "webhooks.html", session=current, endpoints=endpoints,
                  events=events, logs=logs)  # fmt: skip


@router.post("/webhooks/events/{event_id}/redeliver")
def redeliver(
    request: Request, container: ContainerDep, event_id: uuid.UUID, csrf: CsrfToken = None
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    current.member.require(Permission.WEBHOOKS)
    transactions.run(
        container.uow_factory,
        lambda uow: webhooks.redeliver(uow, current.member.merchant_id, event_id),
    )
    return RedirectResponse("/dashboard/webhooks", status_code=303)


@router.get("/float")
def float_page(request: Request, container: ContainerDep) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.REPORTS)
    merchant_id = current.member.merchant_id

    def load(uow: UnitOfWork) -> tuple[FloatSummary | None, list[Invoice]]:
        try:
            summary = merchant_float.float_summary(uow, merchant_id)
        except FloatNotOpen:
            return None, []
        return summary, merchant_float.list_invoices(uow, merchant_id)

    summary, invoices = transactions.read(container.uow_factory, load)
    return render(request, "float.html", session=current, summary=summary, invoices=invoices)


@router.get("/customers/{email}/points")
def points_ledger(request: Request, container: ContainerDep, email: Email) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    merchant_id = current.member.merchant_id

    def load(read: ReadModel) -> points_views.CustomerPoints | None:
        purchases = read.orders.search(merchant_id, None, customer_email=email, limit=1, offset=0)
        if not purchases:
            return None
        return points_views.customer_points(read, merchant_id, points.customer_key(purchases[0]))

    ledger = transactions.query(container.read_models, load)
    if ledger is None:
        return render(request, "error.html", 404, session=current, message="No such customer.")
    return render(request, "points.html", session=current, email=email, ledger=ledger)
