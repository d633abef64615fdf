"""Commands are imported when they run, not when the CLI starts.

typer builds every command's parameters (signatures, type hints) as soon as the group is
made; with two dozen commands that is ~50 ms on every run, and `isaacctl --help` must answer
within 0.15 s. So the root group knows each command by name, module and one line of help, and
imports and builds only the one that is asked for. tests/test_cli.py checks that the help
lines here are the commands' own."""

import importlib

import click
import typer
from typer.core import TyperGroup

# name -> (module, attribute, short help). The attribute is a command function, or a
# typer.Typer for a group (deploy).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "deploy": ("isaacctl.cli.deploy", "app", "Create a workstation (or adopt one) and make it ready for Isaac Lab."),
    "list": ("isaacctl.cli.deployments", "list_command", "List the deployments in the state folder."),
    "status": (
        "isaacctl.cli.deployments",
        "status_command",
        "Show one deployment: where it is, what it runs on, its state.",
    ),
    "ssh": (
        "isaacctl.cli.shell",
        "ssh_command",
        "Open a shell on the workstation, or run one command there and return its exit status.",
    ),
    "bootstrap": (
        "isaacctl.cli.bootstrap",
        "bootstrap_command",
        "Make a deployment's host ready for Isaac Lab: Docker, the NVIDIA driver and Container Toolkit, the Isaac Lab image, cache folders.",
    ),
    "stop": (
        "isaacctl.cli.lifecycle",
        "stop_command",
        "Stop a cloud workstation: compute billing stops, the disk (and its bill) stays, running jobs end.",
    ),
    "start": (
        "isaacctl.cli.lifecycle",
        "start_command",
        "Start a stopped cloud workstation and wait until SSH answers.",
    ),
    "destroy": (
        "isaacctl.cli.deployments",
        "destroy_command",
        "Destroy a deployment: cloud resources are deleted and verified gone; adopted machines (local, ssh) lose only isaacctl's containers and are forgotten.",
    ),
    "autostop": (
        "isaacctl.cli.autostop",
        "autostop_command",
        "Stop an idle workstation on its own: a watchdog on the machine checks jobs, interactive SSH sessions and GPU use, and stops it the way that ends that cloud's compute billing.",
    ),
    "cost": (
        "isaacctl.cli.cost",
        "cost_command",
        "What each deployment cost: hours each machine ran x its catalog price (piece by piece across instance types and markets), its disk while it existed, each job's share, and totals per provider.",
    ),
    "check": ("isaacctl.cli.lifecycle", "check_command", "Check that cloud credentials work, and say whose they are."),
    "gc": (
        "isaacctl.cli.lifecycle",
        "gc_command",
        "List cloud resources isaacctl tagged that belong to no deployment in this state folder; delete the ones you name.",
    ),
    "tasks": (
        "isaacctl.cli.jobs",
        "tasks_command",
        "List the Isaac Lab tasks isaacctl knows and the RL libraries each supports.",
    ),
    "train": (
        "isaacctl.cli.jobs",
        "train_command",
        "Train a policy with Isaac Lab in a detached container on the workstation.",
    ),
    "evaluate": (
        "isaacctl.cli.jobs",
        "evaluate_command",
        "Play a trained policy (Isaac Lab's play.py) and record a video.",
    ),
    "jobs": ("isaacctl.cli.jobs", "jobs_command", "List jobs: status, duration, last logged step and mean reward."),
    "logs": ("isaacctl.cli.jobs", "logs_command", "Show a job's output."),
    "watch": (
        "isaacctl.cli.watch",
        "watch_command",
        "Keep managed jobs going: recover preempted ones and sync their checkpoints home.",
    ),
    "cancel": (
        "isaacctl.cli.jobs",
        "cancel_command",
        "Stop a job: interrupt first so the run can save, kill after a grace period.",
    ),
    "tensorboard": (
        "isaacctl.cli.tensorboard",
        "tensorboard_command",
        "Run TensorBoard over all of a deployment's jobs and forward it here through SSH.",
    ),
    "fetch-logs": (
        "isaacctl.cli.artifacts",
        "fetch_logs_command",
        "Bring jobs' results home: checkpoints/, metrics.csv, config.json, videos/, output.txt and the raw run folder.",
    ),
    "metrics": (
        "isaacctl.cli.artifacts",
        "metrics_command",
        "Summarise a job's metrics (fetching them first when needed) and optionally plot them.",
    ),
    "benchmark": (
        "isaacctl.cli.benchmark",
        "benchmark_command",
        "Benchmark Isaac Lab on several deployments at once and rank them by dollars per result.",
    ),
    "upload": (
        "isaacctl.cli.artifacts",
        "upload_command",
        "Copy a local file or folder into a folder on the workstation (rsync: only changes travel).",
    ),
    "download": (
        "isaacctl.cli.artifacts",
        "download_command",
        "Copy a file or folder from the workstation into a local folder (rsync: only changes travel).",
    ),
}


def build(name: str) -> click.Command:
    module, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        # completion is installed from the root command only (isaacctl --install-completion)
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in COMMANDS]
        return [*COMMANDS, *eager]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            return build(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS:
                text = COMMANDS[name][2]
                rows.append((name, text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."))
            else:
                command = super().get_command(ctx, name)
                if command is not None:
                    rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
