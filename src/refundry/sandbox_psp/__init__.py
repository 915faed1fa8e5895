"""A small card gateway for demos and tests: a subset of Stripe's API on a local port.

Run it with ``refundry sandbox-psp --port 8010``. It keeps its state in memory, replays
idempotent requests, settles refunds asynchronously (posting a Stripe-signed event for
each to ``--events-url``) and can be told to misbehave (latency, 5xx, hanging requests,
refused and failing refunds) through ``/_sandbox``.
"""
