"""The exact Isaac Lab command of a job (the generation's, isaaclab/generation.py). How a
runtime starts it on the host (a container, a process group) is the runtime's
(isaacctl/runtimes/). Argument lists only, never shell strings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaacctl.isaaclab import Generation, JobRequest, Rendezvous, Resume, generation_for

if TYPE_CHECKING:
    from isaacctl.services.jobs.spec import JobSpec

__all__ = ["Resume", "isaaclab_argv"]


def isaaclab_argv(
    spec: JobSpec,
    *,
    checkpoint: str | None = None,
    resume: Resume | None = None,
    generation: Generation | None = None,
    run_timestamp: str | None = None,
    cpu: bool = False,
    rendezvous: Rendezvous | None = None,
) -> list[str]:
    """The job's Isaac Lab command, as shared/reference/isaaclab.md documents it. cpu: the
    deployment has no GPU (bootstrapped with --gpus none). rendezvous: several nodes, and
    which one this command is for."""
    generation = generation or generation_for(None)
    request = JobRequest.from_spec(
        spec, checkpoint=checkpoint, resume=resume, run_timestamp=run_timestamp, cpu=cpu, rendezvous=rendezvous
    )
    return generation.job_argv(request)
