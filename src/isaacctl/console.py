"""The one output facade. Data goes to stdout, diagnostics to stderr; services never print.

rich is imported on first use, not at start-up, so `--help` does not pay for it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from rich.console import Console

JSON_API_VERSION = 1


class Terminal:
    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose

    @cached_property
    def out(self) -> Console:
        from rich.console import Console

        return Console(highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    # -- diagnostics (stderr) ----------------------------------------------------------------
    def error(self, message: str, hint: str | None = None, details: str = "") -> None:
        self.err.print(f"[bold red]error:[/] {_escape(message)}")
        if details:
            self.err.print("[dim]" + _escape("\n".join("  | " + line for line in details.splitlines())) + "[/]")
        if hint:
            self.err.print(f"[dim]hint: {_escape(hint)}[/]")

    def warning(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/] {_escape(message)}")

    def info(self, message: str) -> None:
        self.err.print(_escape(message))

    def success(self, message: str) -> None:
        self.err.print(f"[green]✓[/] {_escape(message)}")

    def debug(self, message: str) -> None:
        if self.verbose:
            self.err.print(f"[dim]{_escape(message)}[/]")

    @contextmanager
    def spinner(self, message: str) -> Iterator[Callable[[str], None]]:
        """A spinner on a terminal; plain progress lines otherwise (CI logs, pipes)."""
        if not self.err.is_terminal:
            def update(text: str) -> None:
                self.err.print(f"… {_escape(text)}")

            update(message)
            yield update
            return
        with self.err.status(_escape(message)) as status:
            yield lambda text: status.update(_escape(text))

    # -- data (stdout) -----------------------------------------------------------------------
    def json(self, kind: str, payload: Any) -> None:
        envelope = {"api_version": JSON_API_VERSION, "kind": kind, "data": payload}
        sys.stdout.write(json.dumps(envelope, indent=2, default=str) + "\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Aligned plain columns. Not rich.Table: it costs ~130 ms for 50 rows, and `list`
        must answer within 0.3 s; plain text is also what scripts and grep want."""
        cells = [list(columns), *([str(cell) for cell in row] for row in rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        for row in cells:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths))
            sys.stdout.write(line.rstrip() + "\n")

    def text(self, message: str) -> None:
        self.out.print(_escape(message))

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; callers refuse destructive work when stdin is not a terminal."""
        self.err.print(f"{_escape(question)} [y/N] ", end="")
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")


def _escape(text: str) -> str:
    # rich markup: user-supplied text must never be read as [style] tags.
    return text.replace("[", "\\[")
