"""Live views of long work: bootstrap steps with a pull progress bar. A rich live table on a
terminal; plain lines in logs and pipes. A deployment of several nodes bootstraps them at once:
the live view then shows one line per node (its current step), plain lines name the node."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from isaacctl.console import Terminal

if TYPE_CHECKING:
    from types import TracebackType

    from rich.live import Live

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
    def __init__(self, terminal: Terminal, nodes: int = 1) -> None:
        self.terminal = terminal
        self.live_mode = terminal.interactive
        self.node_count = nodes
        self.by_node: dict[int, dict[str, StepEvent]] = {}  # node -> step -> its latest event
        self.pulls: dict[int, PullProgress] = {}
        self._live: Live | None = None
        self._last_print = 0.0

    @property
    def rows(self) -> dict[str, StepEvent]:
        """The head's steps (what a one-node view shows)."""
        return self.by_node.get(0, {})

    @property
    def several(self) -> bool:
        return self.node_count > 1 or any(node > 0 for node in self.by_node)

    def __enter__(self) -> BootstrapView:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self._render(), console=self.terminal.err, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(kind, error, trace)

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
        self.by_node.setdefault(event.node, {})[event.step] = event
        if self._live is not None:
            self._live.update(self._render())
        elif event.state != "running":
            note = f" ({event.message})" if event.message else ""
            where = f"node {event.node} " if self.several else ""
            self.terminal.info(
                f"{MARKS[event.state]} {where}{event.step:<18} {event.state:<8} {event.duration_s:6.1f}s{note}"
            )

    def on_pull(self, progress: PullProgress) -> None:
        self.pulls[progress.node] = progress
        if self._live is not None:
            self._live.update(self._render())
        elif time.monotonic() - self._last_print > 5:
            self._last_print = time.monotonic()
            self.terminal.info(self._pull_text(progress, self.several))

    @staticmethod
    def _pull_text(progress: PullProgress, several: bool = False) -> str:
        who = f"node {progress.node} " if several else ""
        return (
            f"  {who}pulling: {_size(progress.bytes_done)} of {_size(progress.bytes_total)}, "
            f"{len(progress.finished)}/{len(progress.layers)} layers"
        )

    def _pulling(self, node: int) -> PullProgress | None:
        running = [e for e in self.by_node.get(node, {}).values() if e.state == "running"]
        return self.pulls.get(node) if running and running[-1].step == "image-pull" else None

    def _render(self):
        return self._render_nodes() if self.several else self._render_steps()

    def _render_steps(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("", "STEP", "STATE", "TIME", ""):
            table.add_column(column)
        for event in self.rows.values():
            style = STYLES[event.state]
            table.add_row(
                f"[{style}]{MARKS[event.state]}[/]",
                event.step,
                f"[{style}]{event.state}[/]",
                f"{event.duration_s:.1f}s" if event.state != "running" else "",
                event.message or event.summary,
            )
        parts = [table]
        pull = self._pulling(0)
        if pull is not None:
            total = max(pull.bytes_total, 1)
            parts += [ProgressBar(total=total, completed=pull.bytes_done, width=50), self._pull_text(pull)]
        return Group(*parts)

    def _render_nodes(self):
        """One line per node: its latest step, how far it got, and its pull when pulling."""
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("", "NODE", "STEP", "STATE", "DONE", ""):
            table.add_column(column)
        for node in sorted(self.by_node):
            steps = self.by_node[node]
            event = list(steps.values())[-1]
            finished = sum(e.state in ("ok", "skipped") for e in steps.values())
            style = STYLES[event.state]
            pull = self._pulling(node)
            note = self._pull_text(pull).strip() if pull is not None else event.message or event.summary
            table.add_row(
                f"[{style}]{MARKS[event.state]}[/]",
                str(node),
                event.step,
                f"[{style}]{event.state}[/]",
                f"{finished} steps",
                note,
            )
        return table
