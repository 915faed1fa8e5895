"""Dashboard pages: sign in and out, an order, and its cancel actions (Customer Service's
list of orders is ``order_list``). Thin: every rule is the services' and the domain's,
and every action checks the permission and the CSRF token on the server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import AfterValidator

from refundry.domain.errors import (
    Forbidden,
    NotFound,
    RefundryError,
    SignInLocked,
    Unauthenticated,
)
from refundry.domain.merchant import Merchant
from refundry.domain.order import Order
from refundry.domain.staff import ApprovalStatus, Permission, RefundApproval, Role, StaffMember
from refundry.entrypoints import log_context
from refundry.entrypoints.actors import Actors
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import status_for
from refundry.entrypoints.dashboard.order_menu import link_cancel, order_menu
from refundry.entrypoints.dashboard.order_reading import CANCELLED_HERE, ITEM_CANCELLED_HERE
from refundry.entrypoints.dashboard.order_summary import order_summary
from refundry.entrypoints.dashboard.refusals import (
    FormError,
    Reader,
    in_plain_words,
    timezone_of,
)
from refundry.entrypoints.dashboard.rendering import money_formatter, render
from refundry.entrypoints.dashboard.return_forms import STATUS_LABELS as RETURN_STATUS_LABELS
from refundry.entrypoints.dashboard.timeline import timeline
from refundry.services import clock, transactions
from refundry.services.handlers import refund_approvals, staff
from refundry.services.handlers.staff import Session
from refundry.services.unit_of_work import UnitOfWork

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

COOKIE = "refundry_session"
STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"htmx.min.js": "text/javascript", "dashboard.js": "text/javascript"}


def refuse_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; say so instead of failing at the database.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


FormText = Annotated[str, Form(max_length=1000), AfterValidator(refuse_nul)]
CsrfToken = Annotated[str | None, Form(max_length=200)]
QueryText = Annotated[str | None, Query(max_length=320), AfterValidator(refuse_nul)]


def current_session(request: Request, container: ContainerDep) -> Session | None:
    try:
        session = transactions.read(
            container.uow_factory,
            lambda uow: staff.session(uow, request.cookies.get(COOKIE)),
        )
    except Unauthenticated:
        return None
    log_context.bind(merchant_id=session.member.merchant_id)  # on the request's log lines
    return session


def to_login() -> RedirectResponse:
    return RedirectResponse("/dashboard/login", status_code=303)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name])


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html", error=None, email="")


@router.post("/login")
def login(
    request: Request,
    container: ContainerDep,
    email: Annotated[str, Form(max_length=320), AfterValidator(refuse_nul)],
    password: Annotated[str, Form(max_length=1000), AfterValidator(refuse_nul)],
) -> Response:
    settings = container.settings
    lockout = staff.Lockout(
        settings.sign_in_lockout_failures, timedelta(minutes=settings.sign_in_lockout_minutes)
    )
    try:
        previous = request.cookies.get(COOKIE)
        signed_in = staff.sign_in(container.uow_factory, email, password, previous, lockout)
    except SignInLocked as error:
        page = render(request, "login.html", status_code=429, error=error.detail, email=email)
        page.headers["Retry-After"] = str(error.extensions["retry_after"])
        return page
    except RefundryError as error:
        return render(request, "login.html", status_code=401, error=error.detail, email=email)
    response = RedirectResponse("/dashboard/orders", status_code=303)
    response.set_cookie(
        COOKIE,
        signed_in.session_token,
        max_age=int(staff.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=container.settings.dashboard_secure_cookies,
        path="/dashboard",
    )
    return response


@router.post("/logout")
def logout(request: Request, container: ContainerDep, csrf: CsrfToken = None) -> Response:
    current = current_session(request, container)
    if current is not None:
        current.check_csrf(csrf)
        token = request.cookies.get(COOKIE)
        transactions.run(container.uow_factory, lambda uow: staff.sign_out(uow, token))
    response = to_login()
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/dashboard/orders", status_code=303)


@router.get("/orders/{order_id}")
def order_page(
    request: Request, container: ContainerDep, order_id: str, done: str | None = None
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    try:
        found = uuid.UUID(order_id)
    except ValueError:
        return render(request, "error.html", 404, session=current, message="No such order.")
    return show_order(request, container, current, found, done=done)


def show_order(
    request: Request,
    container: ContainerDep,
    current: Session,
    order_id: uuid.UUID,
    *,
    done: str | None = None,
    refused: tuple[str, RefundryError] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """The order page; after a refused cancel, with why on the dialog that was sent
    (``refused``: the form's name and the error), open again with what was typed."""

    def load(
        uow: UnitOfWork,
    ) -> tuple[Order, list[RefundApproval], list[StaffMember], Merchant | None]:
        merchant_id = current.member.merchant_id
        found = uow.orders.get(merchant_id, order_id)
        asked = uow.staff.approvals(merchant_id, order_id=found.id)
        merchant = uow.merchants.get(merchant_id)
        return found, asked, uow.staff.members(merchant_id), merchant

    try:
        order, asked, members, merchant = transactions.read(container.uow_factory, load)
    except (NotFound, ValueError):
        return render(request, "error.html", 404, session=current, message="No such order.")
    now = clock.utcnow()
    actors = Actors.of(order, members, container.settings.card_provider)
    reader = Reader.of(request, timezone_of(merchant))
    refusal = None
    if refused is not None:
        form, error = refused
        forms = {"cancel-order"} | {f"cancel-item-{link.id}" for link in order.links
                                    if not link.cancelled_at}  # fmt: skip
        shown_on = form if form in forms else "page"  # the link was cancelled meanwhile
        refusal = FormError(shown_on, in_plain_words(error, order, reader))
    return render(
        request,
        "order.html",
        200 if refused is None else status_for(refused[1]),
        session=current,
        order=order,
        now=now,
        done=done,
        waiting=[approval for approval in asked if approval.status is ApprovalStatus.PENDING],
        timeline=timeline(order, actors, asked, money_formatter(reader.locale)),
        summary=order_summary(order),
        actors=actors,
        # offered after "Canceled" (seed 001, step 4)
        cancel_labels=() if merchant is None else merchant.cancel_labels,
        # the payment section's gear (seed 001's payment steps): an admin's switch
        automatic_capture=merchant is None or merchant.automatic_capture,
        can_manage_payments=current.member.role is Role.ADMIN,
        can_refund=current.member.can(Permission.REFUND),
        # every action, a disabled one with why (said as a refusal of it would be)
        menu=order_menu(order, current.member, reader, now),
        link_menu=lambda link: link_cancel(order, link, current.member, reader, now),
        return_labels=RETURN_STATUS_LABELS,
        refusal=refusal,
        typed=typed or {},
    )


@router.post("/orders/{order_id}/cancel")
def cancel(
    request: Request,
    container: ContainerDep,
    order_id: uuid.UUID,
    csrf: CsrfToken = None,
    reason: FormText = "",
    status: Annotated[str, Form(max_length=64), AfterValidator(refuse_nul)] = "",
) -> Response:
    """Cancel the whole order: irreversible; the status shown after it (seed 001: by
    default "Canceled", the API's ``cancelled``, else one of the merchant's labels; any
    other is refused in plain words) and the reason are kept with who did it."""
    return _act(
        request,
        container,
        order_id,
        csrf,
        Permission.CANCEL,
        lambda current: (
            lambda uow: refund_approvals.cancel_as_staff(
                uow,
                current.member,
                order_id,
                reason=reason.strip() or CANCELLED_HERE,
                status_label=status.strip() or None,
            )
        ),
        done="order-cancelled",
        form="cancel-order",
        typed={"reason": reason, "status": status},
    )


@router.post("/orders/{order_id}/items/{item_id}/cancel")
def cancel_item(
    request: Request,
    container: ContainerDep,
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    csrf: CsrfToken = None,
    reason: FormText = "",
) -> Response:
    """Cancel one order item (a gift-card link): irreversible; its cost comes back to
    the float when the invoice cycle closes."""
    return _act(
        request,
        container,
        order_id,
        csrf,
        Permission.CANCEL,
        lambda current: (
            lambda uow: refund_approvals.cancel_item_as_staff(
                uow, current.member, order_id, item_id, reason=reason.strip() or ITEM_CANCELLED_HERE
            )
        ),
        done="item-cancelled",
        form=f"cancel-item-{item_id}",
        typed={"reason": reason},
    )


def _act(
    request: Request,
    container: ContainerDep,
    order_id: uuid.UUID,
    csrf: str | None,
    permission: Permission,
    use_case_for: Callable[[Session], Callable[[UnitOfWork], object]],
    *,
    done: str,
    form: str,
    typed: dict[str, str],
) -> Response:
    """Run one action for the signed-in member: session, CSRF token and permission are
    checked first (refused on the error page); a refusal of the action itself is shown on
    the order page, its dialog open again as it was filled in, and writes nothing."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    current.member.require(permission)
    try:
        transactions.run(container.uow_factory, use_case_for(current))
    except (Forbidden, NotFound):
        raise  # above the refund limit, or no such order or item: the error page
    except RefundryError as error:
        return show_order(request, container, current, order_id, refused=(form, error),
                          typed=typed)  # fmt: skip
    return RedirectResponse(f"/dashboard/orders/{order_id}?done={done}", status_code=303)
