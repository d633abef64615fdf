"""TensorBoard over every job of a deployment: started on the host by the deployment's runtime
(a container, or the pip environment's Python), bound to the host's loopback only, and an SSH
port forward to it (nothing is opened to the network)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError
from isaacctl.runtimes import runtime_for

if TYPE_CHECKING:
    from isaacctl.services.jobs.service import JobService


@dataclass(frozen=True)
class TensorBoardSession:
    deployment: str
    container: str
    host_port: int
    local_port: int
    forward: subprocess.Popen[bytes] | None  # None when the host is this machine

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}/"

    def close(self) -> None:
        if self.forward is not None and self.forward.poll() is None:
            self.forward.terminate()
            self.forward.wait(10)


def start(jobs: JobService, deployment: str | None, host_port: int, local_port: int | None) -> TensorBoardSession:
    record = jobs.ready_deployment(deployment)
    with jobs.deployments.remote(record.name) as remote:
        name = runtime_for(record).start_tensorboard(remote, record, host_port)
        from isaacctl.remote.ssh import SshRemote

        if not isinstance(remote, SshRemote):
            return TensorBoardSession(record.name, name, host_port, host_port, None)
        # Its own connection: a forward must live exactly as long as this command.
        ssh = ["ssh", *remote.openssh_options(share_connection=False)]
        target = remote.target.alias
    chosen = local_port or host_port
    if shutil.which(ssh[0]) is None:
        raise IsaacctlError("the port forward needs OpenSSH's ssh client", hint="apt-get install openssh-client")
    forward = subprocess.Popen(
        [*ssh, "-N", "-o", "ExitOnForwardFailure=yes", "-L", f"127.0.0.1:{chosen}:127.0.0.1:{host_port}", target],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return TensorBoardSession(record.name, name, host_port, chosen, forward)


def stop(jobs: JobService, deployment: str | None) -> None:
    record = jobs.resolve_deployment(deployment)
    with jobs.deployments.remote(record.name) as remote:
        runtime_for(record).stop_tensorboard(remote, record)
