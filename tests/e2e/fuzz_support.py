"""Fuzzing the API with schemathesis against its own OpenAPI schema (issue 10).

Requests go in-process to the ASGI app, which runs on a real database of its own (a
fuzzer's thousands of orders, refunds and outbox messages must not reach the session
database that other tests' workers drain). Every response is checked by schemathesis'
built-in checks (no 5xx, documented status codes and content types, bodies that match
their schema, schema-violating requests refused, the API key enforced) and by the checks
below, which hold our own promises: errors are problem+json with a stable ``type``.

``stateless`` fuzzes each operation on its own, with valid and with invalid data;
``stateful`` follows the OpenAPI links (create order -> capture -> preview -> refund ->
cancel ...) so that real ids flow from one call to the next.
"""

from __future__ import annotations

import itertools
import os
import random
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from hypothesis.stateful import initialize
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.python import asgi
from schemathesis.schemas import APIOperation, BaseSchema

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain import errors as domain_errors
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.api.errors import PROBLEM_BASE, PROBLEM_JSON
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant

LONG = os.environ.get("REFUNDRY_LONG_TESTS") == "1"
# Set it to rerun the examples of a failed run (the database starts empty either way).
SEED = int(os.environ.get("REFUNDRY_FUZZ_SEED") or random.randrange(2**32))

# Generated orders mostly break a rule a schema cannot state; store credit (which no
# generated customer has) made one more way to fail, so a few more tries per scenario.
PLACE_ORDER_TRIES = 8
MAX_STATEFUL_RUNS = 5
# An order's returns are left to the stateless run: with them the scenarios, spread over
# more operations, went whole runs without a turn at the capture -> refund -> cancel chain.
STATEFUL_PATHS = r"^/v1/(orders|refunds|links|events)\b(?!.*/returns$)"


@dataclass(frozen=True)
class Budget:
    """How much to generate. The minimums are asserted: a run cannot shrink silently (an
    operation that stops generating, a schema that loses its bodies, links that break)."""

    examples_per_operation: int  # for each of valid and invalid data
    stateful_scenarios: int
    stateful_steps: int  # at most, in a scenario
    minimum_requests: int  # stateless and stateful
    minimum_stateful_requests: int


# --------------------------------------------------------------------- the target
@dataclass
class Target:
    """The app on one database, and one merchant's key to call it with."""

    container: Container
    api_key: str
    schema: BaseSchema

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@contextmanager
def fuzz_target(database_url: str, sandbox_psp_url: str) -> Iterator[Target]:
    container = bootstrap(
        Settings(
            database_url=database_url,
            # captures of held payments call the provider at once: a real sandbox answers
            sandbox_psp_url=sandbox_psp_url,
            dashboard_secure_cookies=False,
            # One client sending as fast as it can: the rate limit (tested on its own)
            # would answer part of the run with 429s instead of the API.
            rate_limit_per_second=0,
        )
    )
    try:
        merchant = transactions.run(
            container.uow_factory, lambda uow: create_merchant(uow, "Fuzzing shop")
        )
        app = create_app(container)
        yield Target(container, merchant.api_key, load_schema(app))
    finally:
        container.engine.dispose()


def load_schema(app: Any) -> BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                # The key goes in every call (``Target.headers``); generated ones would
                # only ever be refused.
                "with-security-parameters": False,
            },
            # The links we declare, not schemathesis' guesses from field names, which
            # also pass a discrepancy's null order_id into a path.
            "phases": {"stateful": {"inference": {"algorithms": []}}},
            "checks": {
                # Its default counts every 422 on schema-valid data as a failure. Ours
                # also answer 422 for what a JSON Schema cannot say: an unknown order
                # line, a refund above what is left, a range that ends before it starts
                # (typed problems from the domain). ``passes_request_validation`` below
                # keeps the part that is about the schema: schema-valid data must never
                # fail request validation.
                "positive_data_acceptance": {"enabled": False},
                # Probes each 2xx twice more; ``ignored_auth_once`` runs it once per
                # operation instead.
                "ignored_auth": {"enabled": False},
            },
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


# ------------------------------------------------------------------ our own checks
def _problem_types() -> frozenset[str]:
    # Request validation and routing (errors.py), and the abuse limits (limits.py).
    codes = {"validation-error", "bad-request", "not-found", "method-not-allowed"}
    codes |= {"rate-limited", "request-too-large"}
    pending: list[type[domain_errors.RefundryError]] = [domain_errors.RefundryError]
    while pending:
        error = pending.pop()
        codes.add(error.code)
        pending.extend(error.__subclasses__())
    return frozenset(PROBLEM_BASE + code for code in codes)


PROBLEM_TYPES = _problem_types()


def errors_are_typed_problems(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every error is RFC 9457 problem+json whose ``type`` is one a client can branch
    on (a domain error's code, or one of the few HTTP-level ones), with its status."""
    del ctx
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM_JSON, f"an error answered with {content_type!r}"
    body = response.json()
    assert body.get("type") in PROBLEM_TYPES, f"unknown problem type {body.get('type')!r}"
    assert body.get("status") == response.status_code, "the problem's status is not the HTTP one"


def passes_request_validation(ctx: CheckContext, response: Response, case: Case) -> None:
    """Schema-valid data may be refused by the domain (a typed 422), never by request
    validation: that would mean the schema promises what the validators refuse."""
    del ctx
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code == 422:
        body = response.json()
        assert not body.get("type", "").endswith("/validation-error"), (
            f"schema-valid data failed request validation: {body.get('detail')}"
        )


def ignored_auth_once() -> Callable[[CheckContext, Response, Case], None]:
    """schemathesis' ``ignored_auth`` (the 2xx again without the key, and with a wrong
    one: both must be 401), once per operation."""
    confirmed: set[str] = set()

    def ignored_auth(ctx: CheckContext, response: Response, case: Case) -> None:
        label = case.operation.label
        if label in confirmed or not 200 <= response.status_code < 300:
            return
        schemathesis.checks.ignored_auth(ctx, response, case)
        confirmed.add(label)

    return ignored_auth


# ------------------------------------------------------------------ the runs
@dataclass
class Tally:
    """Requests made (probes by checks not counted), by operation and status."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    def record(self, case: Case, response: Response) -> None:
        self.statuses[(case.operation.label, response.status_code)] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def count(self, predicate: Callable[[str, int], bool]) -> int:
        return sum(n for (label, status), n in self.statuses.items() if predicate(label, status))

    def summary(self) -> str:
        by_class = Counter[str]()
        for (_, status), n in self.statuses.items():
            by_class[f"{status // 100}xx"] += n
        return f"{self.requests} requests ({dict(sorted(by_class.items()))})"


class BudgetSpent(BaseException):
    """Ends a state machine run that took far more requests than its scenarios should
    (hypothesis discards scenarios that get stuck and draws new ones). A BaseException, so
    hypothesis lets it through at once instead of taking it for a failure to shrink."""


@dataclass
class Fuzzer:
    target: Target
    tally: Tally = field(default_factory=Tally)
    failures: list[str] = field(default_factory=list)
    request_cap: int | None = None
    _serials: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.checks = [errors_are_typed_problems, passes_request_validation, ignored_auth_once()]

    def call(self, client: asgi.ASGIClient, case: Case, *, fresh: bool = False) -> Response:
        if self.request_cap is not None and self.tally.requests >= self.request_cap:
            raise BudgetSpent
        if fresh and case.meta is not None and case.meta.generation.mode.is_positive:
            self._make_unique(case)
        response = case.call(session=client, headers=self.target.headers)
        self.tally.record(case, response)
        return response

    def validate(self, case: Case, response: Response, **extra: Any) -> None:
        case.validate_response(
            response, headers=self.target.headers, additional_checks=self.checks, **extra
        )

    def _make_unique(self, case: Case) -> None:
        """A key and an order external_id of the case's own. Generated ones are few and
        short ("0", "a"): most requests would replay, or be refused as a key reused for
        another request or a duplicate order, instead of reaching the use case."""
        serial = next(self._serials)
        if case.headers and case.headers.get("idempotency-key"):
            key = case.headers["idempotency-key"]
            case.headers["idempotency-key"] = f"{key[:200]}~{serial}"
        if case.operation.label == "POST /v1/orders" and isinstance(case.body, dict):
            external_id = case.body.get("external_id")
            if isinstance(external_id, str):
                case.body["external_id"] = f"{external_id[:180]}~{serial}"

    # ------------------------------------------------------------- stateless
    def stateless(self, examples_per_operation: int) -> None:
        with asgi.get_client(self.target.schema.app) as client:
            for result in self.target.schema.get_all_operations():
                operation = result.ok()
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    self._fuzz(client, operation, mode, examples_per_operation)

    def _fuzz(
        self,
        client: asgi.ASGIClient,
        operation: APIOperation,
        mode: GenerationMode,
        examples: int,
    ) -> None:
        # Half the cases keep their generated key and external_id: replays, keys reused
        # for another request and duplicate orders get their share.
        @given(case=operation.as_strategy(generation_mode=mode), fresh=st.booleans())
        @_settings(max_examples=examples)
        def fuzz(case: Case, fresh: bool) -> None:
            self.validate(case, self.call(client, case, fresh=fresh))

        try:
            hypothesis.seed(SEED)(fuzz)()
        except Unsatisfiable:
            # Nothing to get wrong: no parameters and no body (GET /v1/float). Else the
            # fuzzer could not make the operation's input invalid: say so.
            inputs = {p.name for p in operation.iter_parameters()} - {"Authorization"}
            if mode.is_positive or inputs or len(operation.body):
                self.failures.append(f"=== {operation.label}: no {mode.value} data generated")
        except (FailureGroup, Exception) as failure:
            self.failures.append(_report(f"{operation.label}, {mode.value} data", failure))

    # ------------------------------------------------------------- stateful
    def stateful(self, scenarios: int, steps: int) -> None:
        fuzzer = self
        # The resources the links join; the rest would only be roots, and the stateless
        # run covers them.
        linked = self.target.schema.include(path_regex=STATEFUL_PATHS)
        base = linked.as_state_machine()
        place_order = linked["/v1/orders"]["POST"].as_strategy()
        tries = st.lists(place_order, min_size=PLACE_ORDER_TRIES, max_size=PLACE_ORDER_TRIES)

        with asgi.get_client(self.target.schema.app) as client:
            # Orders that do not say are held, so that capture has something to do
            # (create -> capture -> preview -> refund -> cancel) and refunds wait for it.
            held = client.patch(
                "/v1/merchant", json={"automatic_capture": False}, headers=self.target.headers
            )
            assert held.status_code == 200, held.text

            class Links(base):  # type: ignore[valid-type, misc]
                # schemathesis starts scenarios from operations it expects to succeed,
                # and takes POST /v1/orders for a consumer of an "External" resource
                # (customer.external_id) that nothing produces: so each scenario places
                # an order first, and the links take it from there.
                @initialize(target=base.bundles["POST /v1/orders -> 201"], cases=tries)
                def place_an_order(self, cases: list[Case]) -> StepOutput:
                    # Most generated orders break a rule a schema cannot state (a
                    # discount above the subtotal...), so a few tries. (All drawn first:
                    # what is drawn may not depend on the answers.)
                    for case in cases:
                        self.recorder.record_case(case=case)
                        output = self.step(StepInput.initial(case))
                        if output.response.status_code == 201:
                            break
                    return output

                def call(self, case: Case, **kwargs: Any) -> Response:
                    # A scenario means to go on, not to replay.
                    return fuzzer.call(client, case, fresh=True)

                def validate_response(
                    self, response: Response, case: Case, *args: Any, **kwargs: Any
                ) -> None:
                    fuzzer.validate(case, response, recorder=self.recorder)

            settings = _settings(max_examples=scenarios, stateful_step_count=steps)
            self.request_cap = self.tally.requests + 3 * scenarios * (steps + PLACE_ORDER_TRIES)
            try:
                for _ in range(MAX_STATEFUL_RUNS):
                    try:
                        Links.run(settings=settings)
                    except FlakyStrategyDefinition:
                        # Replaying a scenario, hypothesis got other answers than the
                        # first time (a customer's points were spent since...), so it took
                        # other steps: a stateful API does that. The run starts over.
                        continue
                    except (FailureGroup, Exception) as failure:
                        # FlakyFailure too: a failure that did not happen again is one.
                        self.failures.append(_report("stateful (links)", failure))
                    break
            except BudgetSpent:
                pass
            finally:
                self.request_cap = None


def _settings(**overrides: Any) -> hypothesis.settings:
    return hypothesis.settings(
        deadline=None,
        database=None,  # nothing written to .hypothesis/
        derandomize=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        **overrides,
    )


def _report(what: str, failure: BaseException) -> str:
    if isinstance(failure, FailureGroup):
        detail = str(failure)
    else:
        detail = "".join(traceback.format_exception(failure))
    notes = "\n".join(getattr(failure, "__notes__", ()))
    return f"=== {what} (REFUNDRY_FUZZ_SEED={SEED})\n{detail}\n{notes}"
