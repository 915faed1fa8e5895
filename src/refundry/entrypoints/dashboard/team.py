"""An admin's team page: add staff (a password shown once) and grant each member the
permissions they need and a refund limit."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import Forbidden
from refundry.domain.money import Currency, Money
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import CsrfToken, FormText, current_session, to_login
from refundry.services import transactions
from refundry.services.handlers import staff
from refundry.services.handlers.staff import Session

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

Permissions = Annotated[list[Permission], Form()]


def _admin(current: Session) -> None:
    if current.member.role is not Role.ADMIN:
        raise Forbidden("only an admin manages the team")


def _page(
    request: Request,
    container: ContainerDep,
    current: Session,
    new_password: tuple[str, str] | None,
) -> Response:
    members = transactions.read(
        container.uow_factory, lambda uow: uow.staff.members(current.member.merchant_id)
    )
    return render(request, "team.html", session=current, members=members,
                  permissions=list(Permission), new_password=new_password)  # fmt: skip


@router.get("/team")
def team(request: Request, container: ContainerDep) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    _admin(current)
    return _page(request, container, current, new_password=None)


@router.post("/team")
def add_member(
    request: Request,
    container: ContainerDep,
    email: FormText,
    csrf: CsrfToken = None,
    permission: Permissions = [],  # noqa: B006 -- FastAPI copies defaults
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    password = secrets.token_urlsafe(15)
    current.check_csrf(csrf)
    _admin(current)
    added = transactions.run(
        container.uow_factory,
        lambda uow: staff.create_user(
            uow, current.member.merchant_id, email, password, permissions=permission
        ),
    )
    return _page(request, container, current, new_password=(added.email, password))


@router.post("/team/{member_id}")
def set_access(
    request: Request,
    container: ContainerDep,
    member_id: uuid.UUID,
    csrf: CsrfToken = None,
    permission: Permissions = [],  # noqa: B006 -- FastAPI copies defaults
    refund_limit: FormText = "",
    currency: Annotated[str, Form(pattern=r"^[A-Z]{3}$")] = "EUR",
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    _admin(current)
    limit = Money.parse(refund_limit, Currency.of(currency)) if refund_limit.strip() else None
    transactions.run(
        container.uow_factory,
        lambda uow: staff.grant(uow, current.member, member_id, permission, limit),
    )
    return RedirectResponse("/dashboard/team", status_code=303)
