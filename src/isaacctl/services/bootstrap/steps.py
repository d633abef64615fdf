"""The bootstrap steps, in order. Each has a check (is it already done?), an action, and the
inputs its digest covers: a changed image or version re-runs exactly what depends on it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from isaacctl.errors import HostKeyChanged, RemoteError
from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL
from isaacctl.remote.batch import Command
from isaacctl.resources import template_text
from isaacctl.services.bootstrap import prewarm, requirements
from isaacctl.services.bootstrap.context import HOST_FOLDERS, StepContext, StepFailed, script_command
from isaacctl.services.bootstrap.facts import parse_facts
from isaacctl.services.bootstrap.pull_progress import PullProgress

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import AutostopSettings
    from isaacctl.remote import CommandResult


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    act: Callable[[StepContext], None]
    check: Callable[[StepContext], bool] | None = None
    inputs: Callable[[StepContext], dict[str, Any]] = lambda ctx: {}
    version: int = 1
    gpu_only: bool = False
    always_run: bool = False  # cheap steps whose results later steps need
    verify_after: bool = True  # run the check again after the action
    # The commands its check (for reach and facts: its action) asks the host: the runner asks
    # every step's at once, in one round trip, and the check is answered from there.
    probe: Callable[[StepContext], Sequence[Command]] = lambda ctx: ()
    waits_for_host: bool = False  # its probe comes first, and the others' start after it
    skip: Callable[[StepContext], str | None] | None = None  # why it does not apply to this host, if so


# -- 1. reach ----------------------------------------------------------------------------------
def _wait_for_host(ctx: StepContext) -> Command:
    return script_command("bootstrap/wait_for_host.sh", str(int(ctx.settings.reach_timeout)))


def reach(ctx: StepContext) -> None:
    deadline = time.monotonic() + ctx.settings.reach_timeout
    delay, last_error = 1.0, ""
    while True:
        try:
            if ctx.run(["true"], timeout=30).ok:
                break
        except HostKeyChanged:
            raise
        except RemoteError as exc:
            last_error = exc.message
            ctx.reconnect()
        if time.monotonic() + delay > deadline:
            raise StepFailed(
                f"the host did not accept a login within {ctx.settings.reach_timeout:.0f} s: {last_error}",
                hint="check that the machine is up and the address, port, user and key are right",
            )
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
    ctx.need(
        ctx.ask(_wait_for_host(ctx), timeout=1800, shown="bash bootstrap/wait_for_host.sh"),
        "the host stayed busy with cloud-init or apt",
    )


# -- 2. facts ----------------------------------------------------------------------------------
def _facts_script(ctx: StepContext) -> Command:
    return script_command("bootstrap/facts.sh", str(ctx.record.options.get("host_dir", "~/isaacctl")))


def gather_facts(ctx: StepContext) -> None:
    result = ctx.need(
        ctx.ask(_facts_script(ctx), timeout=1800, shown="bash bootstrap/facts.sh"), "cannot read the host's facts"
    )
    ctx.facts = parse_facts(result.stdout)
    ctx.node.facts = ctx.facts.facts
    if ctx.node_index == 0:  # jobs run on the head; its folder is the deployment's
        ctx.record.host_root = ctx.host_root
    problems, hints = [], []
    if not ctx.facts.python3:
        problems.append("python3 is missing on the host (isaacctl's helpers for Docker and job summaries use it)")
        hints.append("install it there: sudo apt-get install -y python3")
    if ctx.settings.gpus == "all":
        if not ctx.facts.nvidia_pci_devices and not ctx.facts.facts.gpus:
            problems.append("no NVIDIA GPU on this host (none on the PCI bus, no nvidia-smi)")
            hints.append("use a host with an RTX-class GPU, or --gpus none for a CPU-only smoke run")
        elif ctx.facts.nvidia_smi and not ctx.settings.allow_unsupported_gpu:
            # With hardware but no driver yet, the nvidia-driver step installs one first.
            version, isaac_sim = _expected_isaaclab(ctx)
            verdict = requirements.judge_gpus(ctx.facts.facts, version, image=ctx.settings.image, isaac_sim=isaac_sim)
            problems += verdict.problems
            hints += [verdict.hint] if verdict.hint else []
    if not ctx.settings.allow_low_disk:
        # the pip runtime pulls no image (its environment is counted like the image)
        verdict = requirements.judge_disk(
            ctx.facts.facts, image_present=ctx.settings.runtime == "container" and _image_id(ctx) is not None
        )
        problems += verdict.problems
        hints += [verdict.hint] if verdict.hint else []
    if problems:
        raise StepFailed("; ".join(problems), hint="; ".join(hints) or None)


# -- 3. NVIDIA driver --------------------------------------------------------------------------
def driver_present(ctx: StepContext) -> bool:
    return bool(ctx.facts and ctx.facts.nvidia_smi and ctx.facts.facts.gpus)


def install_driver(ctx: StepContext) -> None:
    branch = requirements.DRIVER_BRANCH_TO_INSTALL
    ctx.need(
        ctx.run_script("bootstrap/install_nvidia_driver.sh", branch, sudo=True),
        "installing the NVIDIA driver failed",
        hint="the login needs password-less sudo",
    )
    ctx.run(["sudo", "-n", "shutdown", "-r", "+0"], timeout=30)
    ctx.reconnect()
    time.sleep(15)  # let it go down before we start knocking
    reach(ctx)
    gather_facts(ctx)
    if not driver_present(ctx):
        raise StepFailed("the NVIDIA driver is installed but nvidia-smi sees no GPU after the reboot")


# -- 4. Docker ---------------------------------------------------------------------------------
_DOCKER_VERSION = Command.of(["docker", "version", "--format", "{{.Server.Version}}"])
_DOCKER_RUNTIMES = Command.of(["docker", "info", "--format", "{{json .Runtimes}}"])


def docker_usable(ctx: StepContext) -> bool:
    return ctx.ask(_DOCKER_VERSION, timeout=60).ok


def install_docker(ctx: StepContext) -> None:
    user = ctx.facts.user if ctx.facts else ""
    ctx.need(
        ctx.run_script("bootstrap/install_docker.sh", user, sudo=True),
        "installing Docker failed",
        hint="the login needs password-less sudo",
    )
    ctx.reconnect()  # the docker group applies to new logins only


# -- 5. NVIDIA Container Toolkit ---------------------------------------------------------------
def toolkit_configured(ctx: StepContext) -> bool:
    result = ctx.ask(_DOCKER_RUNTIMES, timeout=60)
    return result.ok and '"nvidia"' in result.stdout


def install_toolkit(ctx: StepContext) -> None:
    ctx.need(
        ctx.run_script("bootstrap/install_container_toolkit.sh", sudo=True),
        "installing the NVIDIA Container Toolkit failed",
        hint="the login needs password-less sudo",
    )


# -- 6 and 7. registry login and image pull ----------------------------------------------------
NGC_REGISTRY = "nvcr.io"


def image_registry(image: str) -> str | None:
    first = image.split("/", 1)[0]
    return first if "/" in image and ("." in first or ":" in first or first == "localhost") else None


def _key_registry(ctx: StepContext) -> str | None:
    """Where the key may go: nvcr.io, or the registry the user named with --registry. Any other
    registry in --image gets no key (an image name must not be a way to collect NGC keys)."""
    registry = image_registry(ctx.settings.image)
    return registry if registry is not None and registry == (ctx.settings.registry or NGC_REGISTRY) else None


def _docker_api_argv(*args: str) -> list[str]:
    return ["python3", "-c", template_text("remote/docker_api.py"), *args]


def _image_inspect(ctx: StepContext) -> Command:
    # the docker CLI, not docker_api.py: a python3 start costs ~100 ms on some hosts, and a
    # re-run asks this every time
    return Command.of(["docker", "image", "inspect", "--format", "{{.Id}}", ctx.settings.image])


def _docker_api(
    ctx: StepContext,
    *args: str,
    stdin: bytes | None = None,
    on_line: Callable[[str], None] | None = None,
    timeout: float = 3600,
) -> CommandResult:
    return ctx.run(
        _docker_api_argv(*args),
        stdin=stdin,
        timeout=timeout,
        shown=f"python3 docker_api.py {' '.join(args)}",
        on_line=on_line,
    )


def _image_id(ctx: StepContext) -> str | None:
    """The image's id on the host; asked once per run (three steps want it), again after a pull."""
    if "image_id" in ctx.memo:
        known: str | None = ctx.memo["image_id"]
        return known
    result = ctx.ask(_image_inspect(ctx), timeout=60)
    image_id = None
    if result.ok or "no such" not in result.stderr.lower():  # "No such image" / "No such object"
        ctx.need(result, "cannot ask Docker about the image")
        image_id = result.stdout.strip().splitlines()[-1]
    ctx.memo["image_id"] = image_id
    return image_id


def image_present(ctx: StepContext) -> bool:
    image_id = _image_id(ctx)
    if image_id is None:
        return False
    ctx.record.image, ctx.record.image_id = ctx.settings.image, image_id
    _read_isaaclab(ctx, image_id)
    return True


# What the image says of its Isaac Lab (templates/isaaclab/versions.yaml `probe`): the first
# version file found, else the package's metadata, and whether Isaac Sim is in it.
_PROBE = r"""
for f in $ISAACCTL_VERSION_FILES; do
  if [ -r "$f" ]; then printf 'file=%s\n' "$(head -n 1 "$f")"; break; fi
done
for py in python3 python; do
  if command -v "$py" >/dev/null 2>&1; then
    "$py" -c 'import importlib.metadata as m, sys
try: print("package=" + m.version(sys.argv[1]))
except Exception: pass' "$ISAACCTL_PACKAGE" 2>/dev/null && break
  fi
done
for p in $ISAACCTL_ISAAC_SIM; do [ -e "$p" ] && { echo isaac_sim=1; break; }; done
echo probe=done
"""


def _expected_isaaclab(ctx: StepContext) -> tuple[str | None, bool | None]:
    """The version and kind (with Isaac Sim or not) bootstrap expects before the image is
    asked: --isaaclab-version, else what this image said last time, else its tag."""
    if ctx.settings.runtime == "pip":  # kit-less from PyPI, whatever the version
        return ctx.settings.isaaclab_version or ctx.record.isaaclab_version or "3.0", False
    said = (
        ctx.store.image_facts(ctx.record.image_id)
        if (ctx.store is not None and ctx.record.image_id and ctx.record.image == ctx.settings.image)
        else {}
    )
    version = ctx.settings.isaaclab_version or said.get("version") or requirements.isaaclab_version(ctx.settings.image)
    return version, said.get("isaac_sim")


def _read_isaaclab(ctx: StepContext, image_id: str) -> None:
    """Sets the deployment's Isaac Lab version from the image itself, read once per image id
    (kept in the state folder); --isaaclab-version overrides it."""
    from isaacctl.isaaclab import major_minor
    from isaacctl.isaaclab.tables import table

    facts = ctx.store.image_facts(image_id) if ctx.store is not None else {}
    if "version" not in facts and "memo_facts" not in ctx.memo:
        probe = table("versions")["probe"]
        result = ctx.run(
            [
                "docker",
                "run",
                "--pull",  # never an implicit pull: images come from image-pull (with the key)
                "never",
                "--rm",
                "--network",
                "none",
                "--label",
                f"{CONTAINER_LABEL}={ctx.record.name}",
                "--label",
                f"{CONTAINER_ID_LABEL}={ctx.record.id}",
                "--env",
                f"ISAACCTL_VERSION_FILES={' '.join(probe['files'])}",
                "--env",
                f"ISAACCTL_PACKAGE={probe['package']}",
                "--env",
                f"ISAACCTL_ISAAC_SIM={' '.join(probe['isaac_sim'])}",
                "--entrypoint",
                "sh",
                ctx.settings.image,
                "-c",
                _PROBE,
            ],
            timeout=300,
            shown=f"docker run --rm {ctx.settings.image} (read its Isaac Lab version)",
        )
        said = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        if result.ok and said.get("probe") == "done":
            version = major_minor(said.get("file")) or major_minor(said.get("package"))
            facts = {
                "version": version,
                "version_text": said.get("file") or said.get("package"),
                "isaac_sim": said.get("isaac_sim") == "1",
            }
            if ctx.store is not None:
                ctx.store.save_image_facts(image_id, facts)
        else:
            ctx.write_log("the image did not say its Isaac Lab version: taking it from the tag")
        ctx.memo["memo_facts"] = facts
    ctx.memo["isaac_sim"] = facts.get("isaac_sim")
    ctx.record.isaaclab_version = (
        ctx.settings.isaaclab_version or facts.get("version") or requirements.isaaclab_version(ctx.settings.image)
    )


def _key_bytes(ctx: StepContext) -> bytes | None:
    secret = ctx.registry_key()
    ctx.redact.add(secret)
    return None if secret is None else (secret.value + "\n").encode()


def registry_login(ctx: StepContext) -> None:
    registry = _key_registry(ctx)
    if registry is None:
        ctx.write_log(
            f"{ctx.settings.image} is not on {ctx.settings.registry or NGC_REGISTRY}: "
            "the key is not sent, the pull will be anonymous"
        )
        return
    key = _key_bytes(ctx)
    if key is None:
        ctx.write_log("no registry key given: the pull will be anonymous")
        return
    result = _docker_api(ctx, "auth", registry, ctx.settings.registry_user, stdin=key, timeout=120)
    if not result.ok:
        raise StepFailed(
            f"registry {registry} refused the key for user {ctx.settings.registry_user!r}: {_api_error(result.stdout)}",
            hint="check NGC_API_KEY or --ngc-api-key-file (an NGC API key, user $oauthtoken)",
        )


def _api_error(stdout: str) -> str:
    for line in reversed(stdout.strip().splitlines()):
        try:
            return str(json.loads(line).get("error") or "").strip() or line
        except json.JSONDecodeError:
            continue
    return "no answer"


class TransientPullError(StepFailed):
    """A pull that failed for a reason worth another try (timeouts, resets, 5xx, rate limits)."""


def pull_image(ctx: StepContext) -> None:
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    registry = _key_registry(ctx)
    key = _key_bytes(ctx) if registry else None
    auth = [registry, ctx.settings.registry_user] if key and registry else []

    def attempt() -> None:
        progress = PullProgress()

        def on_line(line: str) -> None:
            if progress.feed(line):
                ctx.on_pull(progress)

        result = _docker_api(ctx, "pull", ctx.settings.image, *auth, stdin=key, on_line=on_line)
        if not result.ok:
            error = progress.error or _api_error(result.stdout)
            failure = TransientPullError if progress.transient else StepFailed
            raise failure(
                f"pulling {ctx.settings.image} failed: {error}",
                hint=_pull_hint(error, bool(key), image_registry(ctx.settings.image)),
                output_tail=ctx.redact(result.tail(5)),
            )

    ctx.memo.pop("image_id", None)
    for trial in Retrying(
        stop=stop_after_attempt(3),
        wait=wait_exponential(min=2, max=30),
        retry=retry_if_exception_type(TransientPullError),
        reraise=True,
    ):
        with trial:
            attempt()
    ctx.memo.pop("image_id", None)
    if not image_present(ctx):
        raise StepFailed(f"{ctx.settings.image} is not on the host after the pull")


def _pull_hint(error: str, had_key: bool, registry: str | None) -> str | None:
    lowered = error.lower()
    if any(word in lowered for word in ("unauthorized", "authentication required", "denied", "credentials")):
        if had_key:
            return None
        if registry is not None and registry != NGC_REGISTRY:
            return (
                f"this registry needs a key: set NGC_API_KEY or pass --ngc-api-key-file, and name it "
                f"with --registry {registry} (a key is sent to nvcr.io only, unless named)"
            )
        return "this registry needs a key: set NGC_API_KEY or pass --ngc-api-key-file"
    if "not found" in lowered or "manifest unknown" in lowered:
        return "check the image name and tag (--image)"
    return None


# -- 8. host folders ---------------------------------------------------------------------------
def _folders(ctx: StepContext) -> list[str]:
    return [f"{ctx.host_root}/{folder}" for folder in HOST_FOLDERS]


def _generation(ctx: StepContext) -> Generation:
    from isaacctl.isaaclab import generation_for

    return generation_for(ctx.record.isaaclab_version, ctx.settings.image)


def _owner(ctx: StepContext) -> int:
    """Who the job containers run as, and so who must be able to write the cache folders."""
    if ctx.settings.runtime == "pip":  # jobs run as the login user
        return 0
    uid: int = _generation(ctx).container.host_uid
    return uid


def _caches(ctx: StepContext) -> list[str]:
    return [folder for folder in _folders(ctx) if not folder.endswith(("/jobs", "/uploads"))]


def _folders_probe(ctx: StepContext) -> tuple[Command, Command]:
    tests: list[str] = []
    for folder in _folders(ctx):
        tests += ["-d", folder, "-a"]
    return Command.of(["test", *tests[:-1]]), Command.of(["stat", "-c", "%u", *_caches(ctx)])


def folders_exist(ctx: StepContext) -> bool:
    there, owners = _folders_probe(ctx)
    if not ctx.ask(there, timeout=60).ok:
        return False
    owner = _owner(ctx)
    if owner == 0:
        return True
    result = ctx.ask(owners, timeout=60)
    return result.ok and set(result.stdout.split()) == {str(owner)}


def make_folders(ctx: StepContext) -> None:
    ctx.need(ctx.run(["mkdir", "-p", *_folders(ctx)], timeout=60), "cannot make the host folders")
    owner = _owner(ctx)
    if owner == 0:
        return
    # The image runs as uid `owner` (3.x: 1000), which must write the caches. The login user
    # may be another uid without sudo, but it can run Docker: a root container of the image
    # itself hands the folders over (jobs/ and uploads/ stay the login user's; each job's own
    # folder is handed over when the job starts).
    caches = _caches(ctx)
    if not image_present(ctx):
        # Nothing is pulled implicitly (image-pull does it, with the key): until the image is
        # here the folders stay the login user's, and this step's check re-runs it after.
        ctx.write_log(f"{ctx.settings.image} is not on the host yet: uid {owner} gets the folders once it is")
        return
    mounts: list[str] = []
    inside: list[str] = []
    for index, folder in enumerate(caches):
        mounts += ["--volume", f"{folder}:/isaacctl-folder-{index}"]
        inside.append(f"/isaacctl-folder-{index}")
    ctx.need(
        ctx.run(
            [
                "docker",
                "run",
                "--pull",  # never an implicit pull: images come from image-pull (with the key)
                "never",
                "--rm",
                "--network",
                "none",
                "--user",
                "0:0",
                "--label",
                f"{CONTAINER_LABEL}={ctx.record.name}",
                "--label",
                f"{CONTAINER_ID_LABEL}={ctx.record.id}",
                *mounts,
                "--entrypoint",
                "chown",
                ctx.settings.image,
                "-R",
                f"{owner}:{owner}",
                *inside,
            ],
            timeout=600,
        ),
        f"cannot give the cache folders to uid {owner}, the image's user",
    )


# -- 9. smoke run ------------------------------------------------------------------------------
def smoke_run(ctx: StepContext) -> None:
    gpu_args = ["--gpus", "all"] if ctx.settings.gpus == "all" else []
    generation = _generation(ctx)
    entry = generation.commands["train"][0]
    # the generation's own entry point: ./isaaclab.sh in the working dir (2.x), isaaclab on PATH (3.x)
    found = f"test -x {generation.container.workdir}/{entry[2:]}" if entry.startswith("./") else f"command -v {entry}"
    probe = f"{found} >/dev/null && echo isaaclab-found"
    if gpu_args:
        probe += " && nvidia-smi -L"
    result = ctx.run(
        [
            "docker",
            "run",
            "--pull",  # never an implicit pull: images come from image-pull (with the key)
            "never",
            "--rm",
            *gpu_args,
            *(["--user", generation.container.user] if generation.container.user else []),
            "--label",
            f"{CONTAINER_LABEL}={ctx.record.name}",
            "--label",
            f"{CONTAINER_ID_LABEL}={ctx.record.id}",
            "--entrypoint",
            "bash",
            ctx.settings.image,
            "-c",
            probe,
        ],
        timeout=900,
    )
    ctx.need(
        result,
        "the Isaac Lab container did not start" + (" with the GPUs" if gpu_args else ""),
        hint="a GPU failure usually means the NVIDIA Container Toolkit runtime is not configured",
    )
    if "isaaclab-found" not in result.stdout:
        raise StepFailed(
            f"{ctx.settings.image} has no {entry} for Isaac Lab {generation.label} "
            f"(version {ctx.record.isaaclab_version}): is it an Isaac Lab image?",
            hint="if the image says the wrong version, give the right one with --isaaclab-version",
        )


STEPS: tuple[Step, ...] = (
    Step(
        "reach",
        "wait for SSH, cloud-init and apt",
        reach,
        always_run=True,
        probe=lambda ctx: (Command.of(["true"]), _wait_for_host(ctx)),
        waits_for_host=True,
    ),
    Step(
        "facts",
        "OS, CPU, memory, disk, GPUs",
        gather_facts,
        always_run=True,
        inputs=lambda ctx: {"image": ctx.settings.image},
        probe=lambda ctx: (_facts_script(ctx),),
    ),
    Step(
        "nvidia-driver",
        "NVIDIA driver",
        install_driver,
        check=driver_present,
        gpu_only=True,
        inputs=lambda ctx: {
            "branch": requirements.DRIVER_BRANCH_TO_INSTALL,
            "script": template_text("bootstrap/install_nvidia_driver.sh"),
        },
    ),
    Step(
        "docker",
        "Docker Engine",
        install_docker,
        check=docker_usable,
        probe=lambda ctx: (_DOCKER_VERSION,),
        inputs=lambda ctx: {"script": template_text("bootstrap/install_docker.sh")},
    ),
    Step(
        "container-toolkit",
        "NVIDIA Container Toolkit",
        install_toolkit,
        check=toolkit_configured,
        probe=lambda ctx: (_DOCKER_RUNTIMES,),
        gpu_only=True,
        inputs=lambda ctx: {"script": template_text("bootstrap/install_container_toolkit.sh")},
    ),
    Step(
        "registry-login",
        "check the registry key",
        registry_login,
        check=image_present,
        probe=lambda ctx: (_image_inspect(ctx),),
        verify_after=False,
        inputs=lambda ctx: {"image": ctx.settings.image, "user": ctx.settings.registry_user},
    ),
    Step(
        "image-pull",
        "pull the Isaac Lab image",
        pull_image,
        check=image_present,
        probe=lambda ctx: (_image_inspect(ctx),),
        inputs=lambda ctx: {"image": ctx.settings.image},
    ),
    Step(
        "host-folders",
        "cache, log and job folders",
        make_folders,
        check=folders_exist,
        probe=_folders_probe,
        # the hand-over to the image's user waits for the image: the check re-runs it then
        verify_after=False,
        inputs=lambda ctx: {"folders": _folders(ctx), "owner": _owner(ctx)},
    ),
    Step(
        "smoke",
        "start the container once",
        smoke_run,
        inputs=lambda ctx: {
            "image_id": ctx.record.image_id,
            "gpus": ctx.settings.gpus,
            "version": ctx.record.isaaclab_version,
        },
    ),
)

# The pip runtime's steps (services/bootstrap/pip_steps.py), after the shared ones.
from isaacctl.services.bootstrap import pip_steps  # noqa: E402

STEPS += (
    Step(
        "python-env",
        "Isaac Lab in a Python environment",
        pip_steps.make_environment,
        check=pip_steps.environment_ready,
        inputs=lambda ctx: {"python": pip_steps.python_path(ctx), "version": pip_steps.wanted_version(ctx)},
        probe=pip_steps.ask_probe,
    ),
    # It tells the record which Python and Isaac Lab version jobs use; done again when either,
    # or the asset root, changed (python-env's check said which isaaclab is installed).
    Step(
        "isaaclab-import",
        "import Isaac Lab once",
        pip_steps.import_isaaclab,
        check=pip_steps.import_stands,
        verify_after=False,
        inputs=lambda ctx: {
            "python": pip_steps.python_path(ctx),
            "asset_root": ctx.settings.asset_root,
            "isaaclab": ctx.memo.get("isaaclab_package_version"),
        },
    ),
)

# Which steps each runtime runs, in STEPS' order.
RUNTIME_STEPS = {
    "container": (
        "reach",
        "facts",
        "nvidia-driver",
        "docker",
        "container-toolkit",
        "registry-login",
        "image-pull",
        "host-folders",
        "smoke",
    ),
    "pip": ("reach", "facts", "nvidia-driver", "host-folders", "python-env", "isaaclab-import"),
}


# -- prewarm: 3.x's caches filled in the background (prewarm.py), for every runtime ---------
STEPS += (
    Step(
        "prewarm",
        "caches filled by a short run, in the background",
        prewarm.start,
        check=prewarm.is_running_or_done,
        inputs=prewarm.inputs,
        skip=prewarm.skip_reason,
        probe=prewarm.probe,
    ),
)
RUNTIME_STEPS = {runtime: (*names, "prewarm") for runtime, names in RUNTIME_STEPS.items()}


# -- autostop: the idle watchdog on the host (services/autostop.py), for every runtime ---------
def _autostop_wanted(ctx: StepContext) -> AutostopSettings | None:
    from isaacctl.services.autostop import AutostopFlags, settings_from

    flags = ctx.settings.autostop or AutostopFlags()
    if not flags.given:
        return ctx.record.autostop
    return settings_from(flags, ctx.record.autostop)


def _autostop_inputs(ctx: StepContext) -> dict[str, Any]:
    wanted = _autostop_wanted(ctx)
    return {
        "settings": None if wanted is None else wanted.model_dump(mode="json", exclude={"set_at"}),
        "scripts": [
            template_text(f"autostop/{name}")
            for name in ("watchdog.py", "install.py", "isaacctl-autostop.service", "isaacctl-autostop.timer")
        ],
    }


def _autostop_probe(ctx: StepContext) -> Sequence[Command]:
    if _autostop_wanted(ctx) is None and ctx.record.autostop is None:
        return ()  # never installed (`autostop off` clears the record): no need to ask the host
    return (Command.of(["test", "-f", f"{ctx.host_root}/autostop/config.json"]),)


def autostop_in_place(ctx: StepContext) -> bool:
    asked = _autostop_probe(ctx)
    wanted = _autostop_wanted(ctx)
    return not asked or ctx.ask(asked[0], timeout=60).ok == (wanted is not None)


def install_autostop(ctx: StepContext) -> None:
    from isaacctl.providers.registry import get_provider
    from isaacctl.services import autostop

    wanted = _autostop_wanted(ctx)
    mode = autostop.install(
        ctx.remote, ctx.store, ctx.record, get_provider(ctx.record.provider), wanted, ctx.node_index
    )
    ctx.write_log(f"autostop watchdog: {mode}")
    ctx.record.autostop = wanted


STEPS += (
    Step(
        "autostop",
        "idle watchdog on the host",
        install_autostop,
        check=autostop_in_place,
        inputs=_autostop_inputs,
        probe=_autostop_probe,
    ),
)
RUNTIME_STEPS = {runtime: (*names, "autostop") for runtime, names in RUNTIME_STEPS.items()}

# -- managed-boot: managed training resumes itself at boot (managed_boot.py), every runtime ---
from isaacctl.services.bootstrap import managed_boot  # noqa: E402

STEPS += (
    Step(
        "managed-boot",
        "resume managed training at boot",
        managed_boot.install,
        check=managed_boot.in_place,
        inputs=managed_boot.inputs,
        probe=managed_boot.probe,
    ),
)
RUNTIME_STEPS = {runtime: (*names, "managed-boot") for runtime, names in RUNTIME_STEPS.items()}


def steps_for(runtime: str) -> tuple[Step, ...]:
    return tuple(step for step in STEPS if step.name in RUNTIME_STEPS[runtime])


STEP_NAMES = tuple(step.name for step in STEPS)
