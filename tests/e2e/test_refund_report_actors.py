"""Who made each refund in the refunds report's CSV (API, dashboard, CLI alike): the ledger's
``created_by`` stays for machines and the ``staff`` filter, and ``created_by_name``, the
last column, says it as a person reads it, resolved as the dashboard's timeline does."""

from __future__ import annotations

import csv
import io
import re
import uuid

from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from refundry.entrypoints.refund_report_csv import REFUND_REPORT_COLUMNS
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, csrf_of, make_user, sign_in
from tests.e2e.test_provider_events import EVENTS, refund_event, signed
from tests.e2e.test_reports_api import RANGE

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests


def rows_of(text: str) -> dict[str, dict[str, str]]:
    return {row["refund_id"]: row for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}


def test_the_refunds_csv_names_who_made_each_refund_beside_the_ledgers_actor(
    api: Api, browser_client: TestClient
) -> None:
    # given a refund made with the API key, a cancel made by a team member in the
    # dashboard, and a refund made in the card gateway's own dashboard
    by_key = api.client.post("/v1/orders", json=order_body()).json()
    assert api.client.post(f"/v1/orders/{by_key['id']}/refund", json={"amount": 500}).is_success
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    by_member = api.client.post("/v1/orders", json=order_body()).json()
    page = browser_client.get(f"/dashboard/orders/{by_member['id']}").text
    browser_client.post(f"/dashboard/orders/{by_member['id']}/cancel", data={"csrf": csrf_of(page)})
    reference = f"pi_{uuid.uuid4().hex[:12]}"
    api.client.post(
        "/v1/orders", json=order_body(payment={"method": "card", "reference": reference})
    )
    event = {"id": f"re_{uuid.uuid4().hex[:8]}", "amount": 700, "status": "succeeded",
             "payment_intent": reference}  # fmt: skip
    assert api.client.post(EVENTS, **signed(refund_event(event))).status_code == 200
    # when the report is downloaded from the API and from the dashboard
    from_api = api.client.get(f"/v1/reports/refunds.csv?{RANGE}")
    from_dashboard = browser_client.get(f"/dashboard/reports/refunds.csv?{RANGE}")
    assert from_api.text == from_dashboard.text
    # then the new column comes last, so no column a machine reads has moved
    header = next(csv.reader(io.StringIO(from_api.text.lstrip("\ufeff"))))
    assert header == REFUND_REPORT_COLUMNS
    assert header[-1] == "created_by_name"
    assert header[13] == "created_by"
    # and each refund names who made it, the ledger's actor kept beside it
    named = {(row["created_by"].split(":")[0], row["created_by_name"])
             for row in rows_of(from_api.text).values()}  # fmt: skip
    key = f"API key …{api.merchant.api_key.split('_')[1][-4:]}"
    assert named == {
        ("api_key", key),
        ("staff", email),
        ("provider", "The sandbox card provider"),
    }
    # and the dashboard's Refunds report shows the same names in its By column
    report = browser_client.get(f"/dashboard/reports/refunds?{RANGE}").text
    shown = set(re.findall(r'<td class="hide-narrow">([^<]*)</td>\s*</tr>', report))
    assert shown == {key, email, "The sandbox card provider"}
