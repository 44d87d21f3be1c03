"""``RetryPolicy``: how many times a failed step is tried again, and how long to wait."""

from __future__ import annotations

import random
from enum import Enum


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
