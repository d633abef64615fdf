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
    def interactive(self) -> bool:
        """stderr is a terminal: colours, spinners and live views. Otherwise (pipes, CI) plain
        lines, and rich is never imported (it costs ~45 ms of every command's start-up)."""
        return sys.stderr.isatty()

    def _say(self, markup: str, plain: str) -> None:
        if self.interactive:
            self.err.print(markup)
        else:
            sys.stderr.write(plain + "\n")
            sys.stderr.flush()

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    # -- diagnostics (stderr) ----------------------------------------------------------------
    def error(self, message: str, hint: str | None = None, details: str = "") -> None:
        self._say(f"[bold red]error:[/] {_escape(message)}", f"error: {message}")
        if details:
            quoted = "\n".join("  | " + line for line in details.splitlines())
            self._say(f"[dim]{_escape(quoted)}[/]", quoted)
        if hint:
            self._say(f"[dim]hint: {_escape(hint)}[/]", f"hint: {hint}")

    def warning(self, message: str) -> None:
        self._say(f"[yellow]warning:[/] {_escape(message)}", f"warning: {message}")

    def info(self, message: str) -> None:
        self._say(_escape(message), message)

    def success(self, message: str) -> None:
        self._say(f"[green]✓[/] {_escape(message)}", f"✓ {message}")

    def debug(self, message: str) -> None:
        if self.verbose:
            self._say(f"[dim]{_escape(message)}[/]", message)

    @contextmanager
    def spinner(self, message: str) -> Iterator[Callable[[str], None]]:
        """A spinner on a terminal; plain progress lines otherwise (CI logs, pipes)."""
        if not self.interactive:
            # The label waits for the first update (or the end): a command refused on bad input
            # inside the block prints its error line and nothing before it.
            pending = [message]

            def update(text: str) -> None:
                while pending:
                    self.info(f"… {pending.pop()}")
                self.info(f"… {text}")

            yield update
            while pending:
                self.info(f"… {pending.pop()}")
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
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            sys.stdout.write(line.rstrip() + "\n")

    def text(self, message: str) -> None:
        sys.stdout.write(message + "\n")
        sys.stdout.flush()

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; callers refuse destructive work when stdin is not a terminal."""
        sys.stderr.write(f"{question} [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")


def _escape(text: str) -> str:
    # rich markup: user-supplied text must never be read as [style] tags.
    return text.replace("[", "\\[")
