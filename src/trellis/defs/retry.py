"""``RetryPolicy``: how many times a failed step is tried again, and how long to wait;
``decide_retry``: the one rule that applies it (and ``RetryRequested`` / ``Failure``)."""

from __future__ import annotations

import random
from enum import Enum
from typing import NamedTuple

from trellis.core.errors import Failure, RetryRequested


class Backoff(Enum):
    """How the delay grows between attempts."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(Enum):
    """Random variation added to the delay."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


class RetryPolicy:
    """Retry a failed step up to ``max_retries`` times, waiting ``delay`` seconds
    (grown by ``backoff``, varied by ``jitter``) between attempts."""

    __slots__ = ("backoff", "delay", "jitter", "max_retries")

    def __init__(
        self,
        max_retries: int = 1,
        delay: float | None = None,
        backoff: Backoff | None = None,
        jitter: Jitter | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("RetryPolicy.max_retries must be >= 0")
        self.max_retries = max_retries
        self.delay = delay
        self.backoff = backoff
        self.jitter = jitter

    def calculate_delay(self, attempt_num: int) -> float:
        """Seconds to wait before attempt number ``attempt_num`` (1 for the first retry)."""
        if not self.delay:
            return 0.0
        delay = float(self.delay)
        if self.backoff is Backoff.LINEAR:
            delay *= attempt_num
        elif self.backoff is Backoff.EXPONENTIAL:
            delay *= 2 ** (attempt_num - 1)
        if self.jitter is Jitter.FULL:
            delay = random.uniform(0, delay)
        elif self.jitter is Jitter.PLUS_MINUS:
            delay = delay + random.uniform(-self.delay, self.delay)
        return max(0.0, delay)

    def __repr__(self) -> str:
        return f"RetryPolicy(max_retries={self.max_retries}, delay={self.delay})"


class RetryDecision(NamedTuple):
    """Whether a failed attempt is tried again, and after how many seconds."""

    retry: bool
    delay: float = 0.0


_NO_RETRY = RetryDecision(False)


def decide_retry(
    policy: RetryPolicy | None, retry_number: int, exc: BaseException
) -> RetryDecision:
    """The one rule for retrying attempt ``retry_number`` (0 for the first) of a step
    that raised ``exc``, wherever the step ran (in this process, a pool worker or Dask).

    ``RetryRequested`` retries within its own ``max_retries`` after its
    ``seconds_to_wait``; a ``Failure(allow_retries=False)`` never retries; anything else
    (a worker that died included) retries while the step's ``RetryPolicy`` allows.
    A ``UserCodeExecutionError`` is judged by the user's exception it wraps.
    """
    attempt = retry_number + 1
    user_exc = getattr(exc, "user_exception", None) or exc
    if isinstance(user_exc, RetryRequested):
        return RetryDecision(attempt <= user_exc.max_retries, float(user_exc.seconds_to_wait))
    if isinstance(user_exc, Failure) and not user_exc.allow_retries:
        return _NO_RETRY
    if policy is None or attempt > policy.max_retries:
        return _NO_RETRY
    return RetryDecision(True, policy.calculate_delay(attempt))
