"""The payment section's gear (seed 001: "Click on the gear icon in the payment section.
Turn off Automatic Capture. Click Close."): the merchant's Automatic Capture switch,
saved as it is flipped (htmx), admins only (the service refuses anyone else)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import CsrfToken, current_session, to_login
from refundry.services import transactions
from refundry.services.handlers.merchants import set_automatic_capture_as_staff

router = APIRouter(include_in_schema=False)  # mounted at /dashboard


@router.post("/payment-settings")
def save_payment_settings(
    request: Request,
    container: ContainerDep,
    csrf: CsrfToken = None,
    automatic_capture: Annotated[str | None, Form(max_length=10)] = None,
    order: Annotated[uuid.UUID | None, Form()] = None,
) -> Response:
    """A switch sends its value only when on: absent is off. htmx gets the line that
    says what was saved; a plain form post goes back to the order it came from."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    automatic = automatic_capture is not None
    transactions.run(
        container.uow_factory,
        lambda uow: set_automatic_capture_as_staff(uow, current.member, automatic),
    )
    if request.headers.get("HX-Request") == "true":
        return render(request, "payment_settings_saved.html", automatic_capture=automatic)
    back = f"/dashboard/orders/{order}" if order is not None else "/dashboard/orders"
    return RedirectResponse(back, status_code=303)
