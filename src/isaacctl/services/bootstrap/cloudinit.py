"""cloud-init user-data for cloud providers: the heavy installs run while isaacctl waits for
SSH, so the bootstrap steps over SSH find them done and only verify."""

from __future__ import annotations

from isaacctl.resources import render, template_text
from isaacctl.services.bootstrap.requirements import DRIVER_BRANCH_TO_INSTALL


def render_user_data(deployment: str, login_user: str, gpus: str = "all") -> str:
    return render(
        "cloud-init/user-data.sh.tmpl",
        deployment=deployment,
        login_user=login_user,
        gpus=gpus,
        driver_branch=DRIVER_BRANCH_TO_INSTALL,
        install_docker=template_text("bootstrap/install_docker.sh").rstrip("\n"),
        install_container_toolkit=template_text("bootstrap/install_container_toolkit.sh").rstrip("\n"),
        install_nvidia_driver=template_text("bootstrap/install_nvidia_driver.sh").rstrip("\n"),
    )
