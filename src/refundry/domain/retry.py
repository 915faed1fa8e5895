"""When to try again: exponential backoff with jitter, bounded by a ceiling."""

from __future__ import annotations

from datetime import timedelta


def backoff_delay(attempt: int, *, base: timedelta, ceiling: timedelta, jitter: float) -> timedelta:
    """The wait before try ``attempt + 1``: ``base * 2**(attempt-1)``, capped at ``ceiling``.

    Half of the step is fixed and half scaled by ``jitter`` (a fraction in [0, 1], random
    in production), so many workers that failed together do not retry together, and no
    retry comes sooner than half the step.
    """
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter is a fraction between 0 and 1")
    # Doubled step by step and never past the ceiling: ``base * 2**n`` itself would
    # overflow ``timedelta`` after some forty tries.
    step = base
    for _ in range(max(attempt - 1, 0)):
        if step <= timedelta(0) or step >= ceiling:
            break
        step *= 2
    step = min(step, ceiling)
    half = step / 2
    return half + half * jitter
