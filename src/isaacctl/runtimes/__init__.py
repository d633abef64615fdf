"""Where a deployment's Isaac Lab runs: `container` (the NGC image, Docker) or `pip` (a Python
environment on the host). One interface (base.Runtime); callers pick with `runtime_for(record)`
and never name Docker themselves.

    runtime_for(record).start(remote, Launch(record, job, generation, command, video))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaacctl.runtimes.base import RUNTIME_NAMES, JobState, JobStates, Launch, Runtime, Unknown

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord

__all__ = ["RUNTIME_NAMES", "JobState", "JobStates", "Launch", "Runtime", "Unknown", "runtime", "runtime_for"]


def runtime(name: str) -> Runtime:
    if name == "pip":
        from isaacctl.runtimes.pip import PipRuntime

        return PipRuntime()
    from isaacctl.runtimes.container import ContainerRuntime

    return ContainerRuntime()


def runtime_for(record: DeploymentRecord) -> Runtime:
    return runtime(record.runtime)
