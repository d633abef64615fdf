"""Streams a job's container output and survives a dropped connection: lines carry Docker's
timestamps, so after a reconnect the stream resumes from the last one without repeating it."""

from __future__ import annotations

import time
from collections.abc import Callable

from isaacctl.errors import HostKeyChanged, RemoteError
from isaacctl.remote import Remote

RECONNECT_FOR_SECONDS = 300.0


def _instant(stamp: str) -> tuple[str, int]:
    """Docker's RFC 3339 with trimmed nanoseconds, made comparable."""
    base, _, rest = stamp.partition(".")
    digits = rest.rstrip("Z")
    return base, int((digits + "000000000")[:9]) if digits else 0


class LogCursor:
    """Remembers how far the stream got: the last timestamp and how many lines carried it."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.since: str | None = None
        self.last: tuple[str, int] | None = None
        self.count_at_last = 0
        self._skip: tuple[tuple[str, int], int] | None = None  # replayed lines to drop

    def resume_point(self) -> str | None:
        if self.since is not None and self.last is not None:
            self._skip = (self.last, self.count_at_last)
        return self.since

    def feed(self, raw: str) -> None:
        stamp, _, text = raw.partition(" ")
        if not stamp[:4].isdigit():  # not a timestamped line (a docker error message)
            self.emit(raw)
            return
        instant = _instant(stamp)
        if self._skip is not None:
            skip_at, remaining = self._skip
            if instant < skip_at:
                return
            if instant == skip_at and remaining > 0:
                self._skip = (skip_at, remaining - 1)
                return
            self._skip = None
        if instant == self.last:
            self.count_at_last += 1
        else:
            self.last, self.count_at_last = instant, 1
        self.since = stamp
        self.emit(text)


def stream_logs(
    remote_factory: Callable[[], Remote],
    container: str,
    emit: Callable[[str], None],
    *,
    follow: bool,
    tail: int | None,
    on_reconnect: Callable[[str], None] = lambda message: None,
) -> None:
    cursor = LogCursor(emit)
    remote = remote_factory()
    lost_since: float | None = None
    since_at_loss: str | None = None
    try:
        while True:
            argv = ["docker", "logs", "--timestamps"]
            if follow:
                argv.append("--follow")
            since = cursor.resume_point()
            if since is not None:
                argv += ["--since", since]
            elif tail is not None:
                argv += ["--tail", str(tail)]
            try:
                result = remote.run([*argv, container], on_output=lambda line, stream: cursor.feed(line))
                if not result.ok and "No such container" in result.stderr:
                    raise RemoteError(f"the job's container {container} is gone")
                return
            except HostKeyChanged:
                raise
            except RemoteError as exc:
                if "is gone" in exc.message:
                    raise
                now = time.monotonic()
                if lost_since is None or cursor.since != since_at_loss:
                    lost_since, since_at_loss = now, cursor.since  # lines came since: a new loss
                if now - lost_since > RECONNECT_FOR_SECONDS:
                    raise
                on_reconnect(f"connection lost ({exc.message}); reconnecting")
                remote.close()
                time.sleep(1.0)
                remote = remote_factory()
                continue
    finally:
        remote.close()
