"""Registry keys: where they come from, and how they are kept out of every file and argv.

A key is read when a step needs it (not before), held in a `Secret` whose repr hides it,
and only ever written to a process's stdin."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from isaacctl.errors import UserError

KEY_ENV = "NGC_API_KEY"


@dataclass(frozen=True)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


SecretSource = Callable[[], "Secret | None"]


def registry_key_source(
    key_file: Path | None,
    *,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> SecretSource:
    """NGC_API_KEY, else --ngc-api-key-file, else a hidden prompt on a terminal, else None.
    `prompt` lets a live display step aside while the user types."""

    def read() -> Secret | None:
        from_env = os.environ.get(KEY_ENV, "").strip()
        if from_env:
            return Secret(from_env)
        if key_file is not None:
            try:
                text = key_file.expanduser().read_text().strip()
            except OSError as exc:
                raise UserError(f"--ngc-api-key-file: expected a readable file, {exc.strerror}: {key_file}") from None
            if not text:
                raise UserError(f"--ngc-api-key-file: expected a key, {key_file} is empty")
            return Secret(text)
        if interactive if interactive is not None else sys.stdin.isatty():
            typed = prompt("NGC API key (hidden): ").strip()
            return Secret(typed) if typed else None
        return None

    cache: list[Secret | None] = []

    def once() -> Secret | None:
        if not cache:
            cache.append(read())
        return cache[0]

    return once


class Redactor:
    """Replaces every known secret in text that is about to be logged or shown."""

    def __init__(self) -> None:
        self._secrets: list[str] = []

    def add(self, secret: Secret | None) -> None:
        if secret is not None and secret.value and secret.value not in self._secrets:
            self._secrets.append(secret.value)

    def __call__(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "***")
        return text
