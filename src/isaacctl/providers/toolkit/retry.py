"""Polling and retrying with tenacity: exponential backoff under a deadline, in one place.

tenacity sleeps through `time.sleep` (looked up at each call), so the benchmark's sleep meter
still sees every wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from isaacctl.errors import ProviderError

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None],
    what: str,
    timeout: float,
    on_progress: Callable[[str], None] = lambda message: None,
    *,
    provider: str = "cloud",
    max_wait: float = 5.0,
) -> T:
    """Call `check` until it returns something (not None): at once, then after 1, 2, 4, 5, 5...
    s. Exceptions from `check` end the wait. ProviderError naming `what` after `timeout` s."""
    from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

    on_progress(f"waiting for {what}")
    retrying = Retrying(
        retry=retry_if_result(lambda value: value is None),
        wait=wait_exponential(multiplier=1, min=1, max=max_wait),
        stop=stop_after_delay(timeout),
    )
    try:
        return cast(T, retrying(check))  # not None: retried until it is
    except RetryError:
        raise ProviderError(f"{provider}: timed out after {timeout:.0f} s waiting for {what}") from None


def retry_while(
    action: Callable[[], T],
    transient: Callable[[BaseException], bool],
    timeout: float,
    *,
    max_wait: float = 10.0,
) -> T:
    """Run `action`, again while it raises an exception `transient` accepts, backing off (1, 2,
    4... `max_wait` s) for at most `timeout` s; the last exception is raised as it was."""
    from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

    retrying = Retrying(
        retry=retry_if_exception(transient),
        wait=wait_exponential(multiplier=1, min=1, max=max_wait),
        stop=stop_after_delay(timeout),
        reraise=True,
    )
    return retrying(action)
