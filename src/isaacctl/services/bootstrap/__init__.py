"""Bootstrap: make a host ready to run the Isaac Lab container, idempotently."""

from isaacctl.services.bootstrap.context import BootstrapSettings, StepFailed
from isaacctl.services.bootstrap.runner import BootstrapFailed, BootstrapResult, StepEvent, run_bootstrap
from isaacctl.services.bootstrap.steps import STEP_NAMES

__all__ = [
    "STEP_NAMES",
    "BootstrapFailed",
    "BootstrapResult",
    "BootstrapSettings",
    "StepEvent",
    "StepFailed",
    "run_bootstrap",
]
