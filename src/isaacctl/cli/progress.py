"""Live views of long work: bootstrap steps with a pull progress bar. A rich live table on a
terminal; plain lines in logs and pipes."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from isaacctl.console import Terminal

if TYPE_CHECKING:
    from isaacctl.services.bootstrap import StepEvent
    from isaacctl.services.bootstrap.pull_progress import PullProgress

MARKS = {"running": "…", "ok": "✓", "skipped": "-", "failed": "✗"}
STYLES = {"running": "cyan", "ok": "green", "skipped": "dim", "failed": "bold red"}


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


class BootstrapView:
    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.live_mode = terminal.interactive
        self.rows: dict[str, StepEvent] = {}
        self.pull: PullProgress | None = None
        self._live = None
        self._last_print = 0.0

    def __enter__(self) -> BootstrapView:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self._render(), console=self.terminal.err, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(*exc)

    def ask_secret(self, question: str) -> str:
        """A hidden prompt, with the live view paused so it does not draw over it."""
        import getpass

        if self._live is not None:
            self._live.stop()
        try:
            return getpass.getpass(question)
        finally:
            if self._live is not None:
                self._live.start()

    def on_event(self, event: StepEvent) -> None:
        self.rows[event.step] = event
        if self._live is not None:
            self._live.update(self._render())
        elif event.state != "running":
            note = f" ({event.message})" if event.message else ""
            self.terminal.info(f"{MARKS[event.state]} {event.step:<18} {event.state:<8} {event.duration_s:6.1f}s{note}")

    def on_pull(self, progress: PullProgress) -> None:
        self.pull = progress
        if self._live is not None:
            self._live.update(self._render())
        elif time.monotonic() - self._last_print > 5:
            self._last_print = time.monotonic()
            self.terminal.info(self._pull_text(progress))

    @staticmethod
    def _pull_text(progress: PullProgress) -> str:
        return (f"  pulling: {_size(progress.bytes_done)} of {_size(progress.bytes_total)}, "
                f"{len(progress.finished)}/{len(progress.layers)} layers")

    def _render(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("", "STEP", "STATE", "TIME", ""):
            table.add_column(column)
        for event in self.rows.values():
            style = STYLES[event.state]
            table.add_row(f"[{style}]{MARKS[event.state]}[/]", event.step, f"[{style}]{event.state}[/]",
                          f"{event.duration_s:.1f}s" if event.state != "running" else "",
                          event.message or event.summary)
        parts = [table]
        running = [e for e in self.rows.values() if e.state == "running"]
        if self.pull is not None and running and running[-1].step == "image-pull":
            total = max(self.pull.bytes_total, 1)
            parts += [ProgressBar(total=total, completed=self.pull.bytes_done, width=50), self._pull_text(self.pull)]
        return Group(*parts)
