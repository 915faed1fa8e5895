"""docs/webhooks.md shows what Refundry really sends, and its receiver really verifies."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from refundry.adapters.webhooks.http_sender import signature_headers
from refundry.entrypoints import webhook_examples
from refundry.services.handlers.webhooks import new_secret

DOC = webhook_examples.DOC


def test_the_payload_examples_are_what_the_payload_builder_makes() -> None:
    # given the document as committed
    document = DOC.read_text()
    # when its examples are made again from the real builder and schema
    regenerated = webhook_examples.with_examples(document)
    # then nothing changes (run `python -m refundry.entrypoints.webhook_examples --write`)
    assert regenerated == document


def test_every_emitted_event_type_has_an_example() -> None:
    document = DOC.read_text()
    for event_type in webhook_examples.examples():
        start, end = webhook_examples.block(event_type)
        between = document.split(start)[1].split(end)[0]
        assert f'"type": "{event_type.value}"' in between


def test_the_five_line_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the receiver exactly as documented, holding an endpoint's secret
    code = re.search(r"<!-- receiver:start -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None
    assert len(code.group(1).strip().splitlines()) == 5
    secret = new_secret()
    monkeypatch.setenv("REFUNDRY_WEBHOOK_SECRET", secret)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "docs/webhooks.md", "exec"), namespace)
    body = '{"id":"evt-1","type":"refunded","data":{}}'
    with TestClient(namespace["app"], raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        # when Refundry's signed delivery arrives, then it is accepted
        headers = signature_headers("evt-1", body, [secret], datetime.now(UTC))
        accepted = client.post("/webhooks", content=body, headers=headers)
        assert accepted.status_code == 200
        assert accepted.json() == {"received": "evt-1"}
        # when one signed with another secret arrives, then it is refused
        forged = signature_headers("evt-1", body, [new_secret()], datetime.now(UTC))
        assert client.post("/webhooks", content=body, headers=forged).status_code == 500
