"""Save view and Delete view on the Orders and Returns lists (Shopify's saved views):
the list's current choices kept under a name, as a tab of the member's own.

Both check the session and the CSRF token first. A refused save (a blank, too long or
taken name, the choices saved already, too many views) is shown in plain words on the
Save view dialog, open again with the name as typed; deleting a view that is not the
member's own is a 404, as if there were none."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator

from refundry.domain.errors import Forbidden, NotFound, RefundryError
from refundry.domain.saved_views import Listing
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import status_for
from refundry.entrypoints.dashboard import order_list, returns
from refundry.entrypoints.dashboard.refusals import Reader, in_plain_words
from refundry.entrypoints.dashboard.routes import CsrfToken, current_session, refuse_nul, to_login
from refundry.entrypoints.dashboard.view_tabs import SaveRefused, link_to
from refundry.services import transactions
from refundry.services.handlers import saved_views as handlers

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

Choice = Annotated[str, Form(max_length=32), AfterValidator(refuse_nul)]


@router.post("/views")
def save_view(
    request: Request,
    container: ContainerDep,
    listing: Annotated[Listing, Form()],
    csrf: CsrfToken = None,
    # longer than a name may be, so that a long one is refused in words, not by the parser
    name: Annotated[str, Form(max_length=400), AfterValidator(refuse_nul)] = "",
    status: Choice = "",
    query: Annotated[str, Form(max_length=320), AfterValidator(refuse_nul)] = "",
    sort: Choice = "",
) -> Response:
    """Keep the list's choices, as its hidden fields carry them, under ``name``; then
    open the new view's tab."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    try:
        saved = transactions.run(
            container.uow_factory,
            lambda uow: handlers.save_view(
                uow, current.member, listing, name, status=status, search=query, sort=sort
            ),
        )
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        said = in_plain_words(error, None, Reader.of(request))
        refused = SaveRefused(said, name, status_for(error))
        if listing is Listing.ORDERS:
            return order_list.show_orders(
                request, container, current, query, status, sort, refused=refused
            )
        return returns.show_returns(
            request, container, current, query, status, sort=sort, refused=refused
        )
    return RedirectResponse(link_to(listing, saved.filters), status_code=303)


@router.post("/views/{view_id}/delete")
def delete_view(
    request: Request, container: ContainerDep, view_id: uuid.UUID, csrf: CsrfToken = None
) -> Response:
    """Delete one of the member's own views; its list opens on All. The orders and
    returns it showed are untouched."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(csrf)
    deleted = transactions.run(
        container.uow_factory, lambda uow: handlers.delete_view(uow, current.member, view_id)
    )
    return RedirectResponse(f"/dashboard/{deleted.listing.value}", status_code=303)
