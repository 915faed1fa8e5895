"""The webhook sender, counting each request it makes by how it went
(``refundry_worker_messages_total{queue="webhooks"}``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from refundry.adapters.metrics import count_webhook_attempt
from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.domain.webhooks import DeliveryAttempt


class MeteredWebhookSender:
    def __init__(self, sender: HttpWebhookSender) -> None:
        self._sender = sender

    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
    ) -> DeliveryAttempt:
        attempt = self._sender.send(url, message_id, body, signing_secrets, now)
        count_webhook_attempt(attempt.succeeded)
        return attempt

    def close(self) -> None:
        self._sender.close()
