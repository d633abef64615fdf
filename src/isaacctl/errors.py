"""One error family. Only the CLI entry point turns these into exit codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import ValidationError


class IsaacctlError(Exception):
    """An expected failure with a message meant for the user (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # e.g. the tail of a failed command's output


class UserError(IsaacctlError):
    """Bad input: the message names the field and what was expected (exit code 2)."""

    exit_code = 2


class InvalidName(UserError):
    pass


class DeploymentNotFound(UserError):
    pass


class DeploymentExists(UserError):
    pass


class JobNotFound(UserError):
    pass


class DeploymentBusy(IsaacctlError):
    """Another isaacctl process holds the deployment's lock."""


class ProviderError(IsaacctlError):
    """A cloud or host refused or failed an operation."""


class RemoteError(IsaacctlError):
    """A host could not be reached or a command could not be started on it."""


class HostKeyChanged(RemoteError):
    """The host presented a key other than the one pinned on first contact."""


def from_validation(error: ValidationError, name: Callable[[str], str]) -> UserError:
    """The first problem pydantic found, as one line naming the field the way the user wrote
    it (`name` maps a model field to a flag such as --num-envs or a JSON path)."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "input"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = "" if got is None or isinstance(got, dict) else f", got {got!r}"
    return UserError(f"{name(field)}: {message}{shown}")


def failure_reason(error: BaseException) -> str:
    """What to record about an operation that stopped: Ctrl-C, or the error's message."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return getattr(error, "message", None) or str(error) or type(error).__name__
