"""Admins' queue of staff refunds above a limit: approve (the refund is made) or reject."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import Forbidden
from refundry.domain.staff import ApprovalStatus, Role
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import (
    CsrfToken,
    FormText,
    current_session,
    to_login,
)
from refundry.services import transactions
from refundry.services.handlers import refund_approvals
from refundry.services.handlers.staff import Session

router = APIRouter(include_in_schema=False)  # mounted at /dashboard


def _admin(current: Session) -> None:
    if current.member.role is not Role.ADMIN:
        raise Forbidden("only an admin sees and decides refunds waiting for approval")


@router.get("/approvals")
def approvals(request: Request, container: ContainerDep) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    _admin(current)
    waiting = transactions.read(
        container.uow_factory,
        lambda uow: uow.staff.approvals(current.member.merchant_id, status=ApprovalStatus.PENDING),
    )
    return render(request, "approvals.html", session=current, approvals=waiting)


@router.post("/approvals/{approval_id}/approve")
def approve(
    request: Request, container: ContainerDep, approval_id: uuid.UUID, csrf: CsrfToken = None
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    _admin(current)
    made = transactions.run(
        container.uow_factory,
        lambda uow: refund_approvals.approve(uow, container.quotes, current.member, approval_id),
    )
    return RedirectResponse(
        f"/dashboard/orders/{made.order.id}?done=refund-{made.refund.status.value}",
        status_code=303,
    )


@router.post("/approvals/{approval_id}/reject")
def reject(
    request: Request,
    container: ContainerDep,
    approval_id: uuid.UUID,
    csrf: CsrfToken = None,
    note: FormText = "",
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    _admin(current)
    transactions.run(
        container.uow_factory,
        lambda uow: refund_approvals.reject(uow, current.member, approval_id, note.strip() or None),
    )
    return RedirectResponse("/dashboard/approvals", status_code=303)
