"""Turns the Docker Engine's pull stream (JSON lines) into bytes and layers done."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

DONE = {"Pull complete", "Already exists"}
TRANSIENT = (
    "timeout",
    "connection reset",
    "tls handshake",
    "eof",
    "temporary failure",
    "503",
    "502",
    "too many requests",
)


@dataclass
class PullProgress:
    layers: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (current, total)
    finished: set[str] = field(default_factory=set)
    error: str | None = None
    status: str = ""
    node: int = 0  # which node of the deployment is pulling

    def feed(self, line: str) -> bool:
        """Take one line; True when it changed what a progress bar shows."""
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return False
        if "error" in event:
            self.error = str(event["error"])
            return True
        layer = event.get("id")
        status = event.get("status", "")
        self.status = status
        if not layer or status.startswith(("Pulling from", "Digest:", "Status:")):
            return False
        detail = event.get("progressDetail") or {}
        current, total = self.layers.get(layer, (0, 0))
        if status == "Downloading" and detail.get("total"):
            current, total = int(detail.get("current", 0)), int(detail["total"])
        if status in DONE or status == "Download complete":
            current = total
        self.layers[layer] = (current, total)
        if status in DONE:
            self.finished.add(layer)
        return True

    @property
    def bytes_done(self) -> int:
        return sum(current for current, _ in self.layers.values())

    @property
    def bytes_total(self) -> int:
        return sum(total for _, total in self.layers.values())

    @property
    def transient(self) -> bool:
        return self.error is not None and any(word in self.error.lower() for word in TRANSIENT)
