"""cloud-init user-data for cloud providers: the heavy installs run while isaacctl waits for
SSH, so the bootstrap steps over SSH find them done and only verify."""

from __future__ import annotations

from isaacctl.resources import render, template_text

# The NVIDIA driver branch cloud-init installs on an image without one. The bootstrap step
# that installs it over SSH must use the same branch (a test checks the two agree); it is
# declared here because providers never import services.
DRIVER_BRANCH_TO_INSTALL = "580"


def render_user_data(
    deployment: str, login_user: str, gpus: str = "all", driver_branch: str = DRIVER_BRANCH_TO_INSTALL
) -> str:
    return render(
        "cloud-init/user-data.sh.tmpl",
        deployment=deployment,
        login_user=login_user,
        gpus=gpus,
        driver_branch=driver_branch,
        install_docker=template_text("bootstrap/install_docker.sh").rstrip("\n"),
        install_container_toolkit=template_text("bootstrap/install_container_toolkit.sh").rstrip("\n"),
        install_nvidia_driver=template_text("bootstrap/install_nvidia_driver.sh").rstrip("\n"),
    )
