"""Trying places (zones, regions) in order until one has room, keeping a table of every
attempt for the error that says none had."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Attempt:
    zone: str  # the place tried: a zone, or a region
    outcome: str  # "skipped", or the cloud's error code
    why: str


class TryNext(Exception):
    """Raised by an attempt: this place cannot do it now, go on with the next."""

    def __init__(self, outcome: str, why: str) -> None:
        super().__init__(f"{outcome}: {why}")
        self.outcome, self.why = outcome, why


def attempts_table(attempts: list[Attempt], place: str = "ZONE") -> str:
    rows = [(place, "OUTCOME", "WHY"), *((a.zone, a.outcome, a.why) for a in attempts)]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{z.ljust(widths[0])}  {o.ljust(widths[1])}  {w}" for z, o, w in rows)


def first_that_works(
    places: Iterable[str],
    attempt: Callable[[str], T],
    attempts: list[Attempt],
    on_next: Callable[[Attempt], None] = lambda attempt: None,
) -> T | None:
    """`attempt(place)` for each place in order until one returns; a place whose attempt raises
    TryNext is added to `attempts` (which may already hold skipped places) and `on_next` is
    told. None when every place was tried; any other exception stops the loop."""
    for place in places:
        try:
            return attempt(place)
        except TryNext as refused:
            tried = Attempt(place, refused.outcome, refused.why)
            attempts.append(tried)
            on_next(tried)
    return None
