"""Webhook rules without a database: the retry schedule, when an endpoint is disabled,
which secrets sign, who the actor is, and signatures any Standard Webhooks library verifies.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from refundry.adapters.webhooks.http_sender import signature_headers
from refundry.config import Settings
from refundry.domain.retry import backoff_delay
from refundry.domain.webhooks import DeliveryPolicy, EndpointStatus, EventType, WebhookEndpoint
from refundry.entrypoints.api.schemas_webhooks import ActorPayload
from refundry.services.handlers.webhook_payloads import actor_document
from refundry.services.handlers.webhooks import new_secret

DEFAULT = DeliveryPolicy()
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MAX_ATTEMPTS = 40
# Tries within one schedule (a whole one makes fewer than 40).
attempt_counts = st.integers(min_value=1, max_value=MAX_ATTEMPTS)

jitters = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
policies = st.builds(
    lambda base, extra, give_up: DeliveryPolicy(
        retry_base=timedelta(seconds=base),
        retry_ceiling=timedelta(seconds=base + extra),
        give_up_after=timedelta(seconds=give_up),
    ),
    st.integers(min_value=1, max_value=3600),
    st.integers(min_value=0, max_value=24 * 3600),
    st.integers(min_value=1, max_value=10 * 24 * 3600),
)


def schedule(policy: DeliveryPolicy, jitter: float) -> list[datetime]:
    """The times a delivery that always fails is tried, each retry sent when it is due."""
    tries = [T0]
    while len(tries) <= 1000:
        retry_at = policy.next_attempt(len(tries), T0, tries[-1], jitter)
        if retry_at is None:
            return tries
        tries.append(retry_at)
    raise AssertionError("the schedule never gave up")


def gaps(tries: list[datetime]) -> list[timedelta]:
    return [later - earlier for earlier, later in itertools.pairwise(tries)]


# ------------------------------------------------------------------ next_attempt
@given(
    policy=policies,
    attempts=st.integers(min_value=1, max_value=200),
    jitter=jitters,
    scheduled_at=moments,
    elapsed=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_a_retry_before_the_deadline_comes_later_but_never_after_the_deadline(
    policy: DeliveryPolicy, attempts: int, jitter: float, scheduled_at: datetime, elapsed: float
) -> None:
    deadline = scheduled_at + policy.give_up_after
    now = scheduled_at + policy.give_up_after * elapsed
    if now >= deadline:  # rounding to microseconds may land on the deadline itself
        now = deadline - timedelta(microseconds=1)
    retry_at = policy.next_attempt(attempts, scheduled_at, now, jitter)
    assert retry_at is not None
    assert now < retry_at <= deadline
    delay = backoff_delay(
        attempts, base=policy.retry_base, ceiling=policy.retry_ceiling, jitter=jitter
    )
    assert retry_at == min(now + delay, deadline)
    assert retry_at - now <= policy.retry_ceiling


@given(
    policy=policies,
    attempts=st.integers(min_value=1, max_value=200),
    jitter=jitters,
    scheduled_at=moments,
    late_by=st.integers(min_value=0, max_value=30 * 24 * 3600),
)
def test_a_delivery_is_given_up_once_its_deadline_has_come(
    policy: DeliveryPolicy, attempts: int, jitter: float, scheduled_at: datetime, late_by: int
) -> None:
    now = scheduled_at + policy.give_up_after + timedelta(seconds=late_by)
    assert policy.next_attempt(attempts, scheduled_at, now, jitter) is None


@given(attempts=attempt_counts, jitter=jitters)
def test_no_retry_waits_less_than_half_its_step_or_more_than_the_step(
    attempts: int, jitter: float
) -> None:
    step = min(DEFAULT.retry_ceiling, DEFAULT.retry_base * 2 ** (attempts - 1))
    delay = backoff_delay(
        attempts, base=DEFAULT.retry_base, ceiling=DEFAULT.retry_ceiling, jitter=jitter
    )
    assert step / 2 <= delay <= step


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_a_failing_delivery_is_retried_for_three_days_a_bounded_number_of_times(
    jitter: float,
) -> None:
    tries = schedule(DEFAULT, jitter)
    # tried until at least three days after it was scheduled, the last try at the deadline
    assert tries[-1] - T0 >= timedelta(days=3)
    assert tries[-1] == T0 + DEFAULT.give_up_after
    assert len(tries) < MAX_ATTEMPTS
    # the first retry is quick, and no wait is longer than the ceiling
    assert gaps(tries)[0] <= DEFAULT.retry_base
    assert max(gaps(tries)) <= DEFAULT.retry_ceiling


@pytest.mark.parametrize("jitter", [0.0, 1.0])
def test_the_waits_between_tries_double_until_the_ceiling_and_never_shrink(
    jitter: float,
) -> None:
    waits = gaps(schedule(DEFAULT, jitter))
    *regular, last = waits  # the last retry is pulled in to the deadline
    assert all(later >= earlier for earlier, later in itertools.pairwise(regular))
    capped = DEFAULT.retry_ceiling / 2 * (1 + jitter)
    for earlier, later in itertools.pairwise(regular):
        assert later == min(earlier * 2, capped)
    assert regular[-1] == capped  # the ceiling is reached well before three days
    assert timedelta(0) < last <= capped


@given(jitters=st.lists(jitters, min_size=MAX_ATTEMPTS, max_size=MAX_ATTEMPTS))
def test_random_jitter_keeps_the_schedule_within_three_days_and_forty_tries(
    jitters: list[float],
) -> None:
    tries = [T0]
    for jitter in jitters:
        retry_at = DEFAULT.next_attempt(len(tries), T0, tries[-1], jitter)
        if retry_at is None:
            break
        tries.append(retry_at)
    else:
        raise AssertionError(f"still retrying after {MAX_ATTEMPTS} tries")
    assert tries[-1] == T0 + DEFAULT.give_up_after


@pytest.mark.parametrize("attempts", [43, 60, 200, 10_000])
def test_a_delivery_tried_many_times_still_waits_at_most_the_ceiling(attempts: int) -> None:
    retry_at = DEFAULT.next_attempt(attempts, T0, T0, 0.5)
    assert retry_at == T0 + DEFAULT.retry_ceiling * 0.75


# ---------------------------------------------------------------- should_disable
def test_an_endpoint_that_has_not_failed_is_never_disabled() -> None:
    assert not DEFAULT.should_disable(None, T0)
    assert not DEFAULT.should_disable(None, T0 + timedelta(days=365))


@pytest.mark.parametrize(
    ("failing_for", "disabled"),
    [
        (timedelta(0), False),
        (timedelta(days=3), False),
        (timedelta(days=5) - timedelta(microseconds=1), False),
        (timedelta(days=5), True),
        (timedelta(days=30), True),
    ],
)
def test_an_endpoint_is_disabled_once_it_has_failed_for_five_days(
    failing_for: timedelta, disabled: bool
) -> None:
    assert DEFAULT.should_disable(T0, T0 + failing_for) is disabled


def test_an_endpoint_is_disabled_only_after_a_whole_retry_schedule_could_fail() -> None:
    assert DEFAULT.disable_after > DEFAULT.give_up_after


def test_the_default_settings_give_the_default_delivery_policy() -> None:
    assert Settings().webhook_policy == DeliveryPolicy()


# ---------------------------------------------------------------------- endpoints
def endpoint(**overrides: object) -> WebhookEndpoint:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "merchant_id": uuid.uuid4(),
        "url": "https://shop.example/webhooks",
        "description": None,
        "enabled_events": frozenset({EventType.REFUNDED, EventType.CANCELLED}),
        "status": EndpointStatus.ENABLED,
        "secret": "whsec_current",
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    return WebhookEndpoint(**fields)  # type: ignore[arg-type]


def test_both_secrets_sign_until_the_previous_one_expires_then_only_the_current() -> None:
    expires = T0 + timedelta(hours=24)
    rotated = endpoint(previous_secret="whsec_old", previous_secret_expires_at=expires)
    assert rotated.signing_secrets(T0) == ("whsec_current", "whsec_old")
    assert rotated.signing_secrets(expires - timedelta(microseconds=1)) == (
        "whsec_current",
        "whsec_old",
    )
    assert rotated.signing_secrets(expires) == ("whsec_current",)
    assert rotated.signing_secrets(expires + timedelta(days=1)) == ("whsec_current",)


def test_an_endpoint_never_rotated_signs_with_its_secret_alone() -> None:
    assert endpoint().signing_secrets(T0) == ("whsec_current",)
    half_rotated = endpoint(previous_secret="whsec_old", previous_secret_expires_at=None)
    assert half_rotated.signing_secrets(T0) == ("whsec_current",)


def test_an_endpoint_subscribes_only_to_its_event_types_and_only_while_enabled() -> None:
    enabled = endpoint()
    assert enabled.subscribes_to(EventType.REFUNDED)
    assert enabled.subscribes_to(EventType.CANCELLED)
    assert not enabled.subscribes_to(EventType.REFUND_UPDATED)
    disabled = endpoint(status=EndpointStatus.DISABLED, disabled_reason="failing")
    assert not any(disabled.subscribes_to(event_type) for event_type in EventType)


# ------------------------------------------------------------------------- actors
@pytest.mark.parametrize(
    ("actor", "document"),
    [
        ("api_key:abc", {"type": "api_key", "id": "abc"}),
        ("staff:u1", {"type": "staff", "id": "u1"}),
        ("provider", {"type": "provider", "id": None}),
        ("provider:stripe", {"type": "provider", "id": "stripe"}),
        ("system", {"type": "system", "id": None}),
        ("seed", {"type": "system", "id": None}),
        ("api_key:", {"type": "system", "id": None}),
        ("staff:", {"type": "system", "id": None}),
    ],
)
def test_the_actor_says_who_acted(actor: str, document: dict[str, object]) -> None:
    assert actor_document(actor) == document


@given(actor=st.text(max_size=40))
def test_every_actor_fits_the_documented_payload(actor: str) -> None:
    document = actor_document(actor)
    ActorPayload.model_validate(document)
    if document["type"] in ("api_key", "staff"):
        assert document["id"]


# --------------------------------------------------------------------- signatures
BODY = '{"id":"evt","type":"refunded","data":{"sequence":1}}'


def test_a_delivery_signed_with_one_secret_verifies_with_that_secret_only() -> None:
    secret, stranger = new_secret(), new_secret()
    message_id = str(uuid.uuid4())
    headers = signature_headers(message_id, BODY, [secret], datetime.now(UTC))
    assert headers["webhook-id"] == message_id
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(secret).verify(BODY, headers) == {
        "id": "evt",
        "type": "refunded",
        "data": {"sequence": 1},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(BODY, headers)


def test_a_delivery_signed_during_a_rotation_verifies_with_either_secret_alone() -> None:
    current, previous, stranger = new_secret(), new_secret(), new_secret()
    headers = signature_headers(str(uuid.uuid4()), BODY, [current, previous], datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(current).verify(BODY, headers)
    Webhook(previous).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(BODY, headers)


def test_a_signature_does_not_verify_a_changed_body_or_id() -> None:
    secret = new_secret()
    headers = signature_headers(str(uuid.uuid4()), BODY, [secret], datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("1", "2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": str(uuid.uuid4())})


def test_a_signature_made_with_a_local_time_verifies_like_one_made_in_utc() -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    in_paris = now.astimezone(timezone(timedelta(hours=2)))
    message_id = str(uuid.uuid4())
    local = signature_headers(message_id, BODY, [secret], in_paris)
    assert local == signature_headers(message_id, BODY, [secret], now)
    Webhook(secret).verify(BODY, local)


def test_a_delivery_older_than_five_minutes_is_refused_by_the_receiver() -> None:
    secret = new_secret()
    stale = datetime.now(UTC) - timedelta(minutes=10)
    headers = signature_headers(str(uuid.uuid4()), BODY, [secret], stale)
    assert headers["webhook-timestamp"] == str(int(stale.timestamp()))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_a_new_secret_has_the_standard_webhooks_form() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert secret != new_secret()
    Webhook(secret)  # decodes as base64


@pytest.mark.parametrize(
    ("value", "allowed"), [("1", True), ("true", True), ("", False), ("0", False)]
)
def test_private_network_receivers_are_allowed_only_when_the_environment_says_so(
    monkeypatch: pytest.MonkeyPatch, value: str, allowed: bool
) -> None:
    monkeypatch.setenv("REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", value)
    assert Settings.from_env().webhook_allow_private_networks is allowed
