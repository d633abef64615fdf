"""`isaacctl watch`: the controller of managed jobs, in the foreground or as a daemon."""

import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from isaacctl.cli.context import app_of

UNIT = "isaacctl-watch"
STOP_WAIT_SECONDS = 30.0


def watch_command(
    ctx: typer.Context,
    daemon: bool = typer.Option(
        False,
        "--daemon",
        help="Run in the background: a systemd user service when there is one, else a detached process.",
    ),
    stop: bool = typer.Option(False, "--stop", help="Stop the background watch of this state folder."),
    interval: float = typer.Option(30.0, "--interval", help="Seconds between two looks (1 to 3600)."),
    sync_interval: float = typer.Option(
        30.0, "--sync-interval", help="Seconds between two checkpoint syncs of a running job (1 to 86400)."
    ),
    once: bool = typer.Option(False, "--once", help="Look once, recover what needs it, and exit."),
    exit_when_idle: bool = typer.Option(
        False, "--exit-when-idle", help="Exit once no managed job is left to look after."
    ),
    key_file: Optional[Path] = typer.Option(
        None, "--ngc-api-key-file", help="Registry key for a redeploy's image pull [default: NGC_API_KEY]."
    ),
) -> None:
    """Keep managed jobs going: recover preempted ones and sync their checkpoints home.

    \b
    Example:  isaacctl watch
              isaacctl watch --daemon
    """
    from isaacctl.errors import UserError

    app = app_of(ctx)
    if not (math.isfinite(interval) and 1 <= interval <= 3600):
        raise UserError(f"--interval: expected seconds from 1 to 3600, got {interval}")
    if not (math.isfinite(sync_interval) and 1 <= sync_interval <= 86400):
        raise UserError(f"--sync-interval: expected seconds from 1 to 86400, got {sync_interval}")
    if key_file is not None and not key_file.expanduser().is_file():
        raise UserError(f"--ngc-api-key-file: expected a readable file, got {str(key_file)!r}")
    if stop:
        app.terminal.info(_stop(app.store.watch_folder))
        return
    if daemon:
        argv = [
            sys.executable,
            "-m",
            "isaacctl",
            "--state-dir",
            str(app.store.root),
            "watch",
            "--interval",
            str(interval),
            "--sync-interval",
            str(sync_interval),
        ]
        if key_file is not None:
            argv += ["--ngc-api-key-file", str(key_file.expanduser().absolute())]
        app.terminal.success(_daemonise(app.store.watch_folder, argv))
        return
    _run(app, interval, sync_interval, once, exit_when_idle, key_file)


def _run(
    app, interval: float, sync_interval: float, once: bool, exit_when_idle: bool, key_file: Optional[Path]
) -> None:
    from filelock import FileLock, Timeout

    from isaacctl.errors import UserError
    from isaacctl.services.managed import ManagedService
    from isaacctl.services.secrets import registry_key_source

    folder = app.store.watch_folder
    # one controller per state folder: two would both redeploy the same preempted machine
    lock = FileLock(str(folder / "watch.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UserError(
            f"--state-dir: another 'isaacctl watch' looks after {app.store.root} (pid {_read_pid(folder) or 'unknown'})"
        ) from None
    import signal

    def stopped(signum: int, frame: object) -> None:
        raise SystemExit(0)  # `watch --stop`'s SIGTERM: the lock and the pid file are let go below

    signal.signal(signal.SIGTERM, stopped)
    try:
        (folder / "watch.pid").write_text(f"{os.getpid()}\n")
        service = ManagedService(
            app.store, app.terminal.info, registry_key_source(key_file, interactive=False), sync_seconds=sync_interval
        )
        said: dict[str, str] = {}
        while True:
            for outcome in service.tick():
                line = f"{outcome.job} on {outcome.deployment}: {outcome.state}" + (
                    f" ({outcome.detail})" if outcome.detail else ""
                )
                if said.get(outcome.job) != line:  # each change once, not every look
                    said[outcome.job] = line
                    app.terminal.info(line)
            if once or (exit_when_idle and not service.active()):
                return
            time.sleep(interval)
    finally:
        (folder / "watch.pid").unlink(missing_ok=True)
        lock.release()


def _systemd_user() -> bool:
    if shutil.which("systemd-run") is None or shutil.which("systemctl") is None:
        return False
    state = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, text=True, timeout=10)
    return state.stdout.strip() in ("running", "degraded")


def _daemonise(folder: Path, argv: list[str]) -> str:
    if _systemd_user():
        # a transient user unit: it survives this shell, restarts on failure and logs to the journal;
        # the environment is not copied into the unit, so a key in NGC_API_KEY is never written there
        unit = f"{UNIT}-{abs(hash(str(folder))) % 10**8:08d}"
        made = subprocess.run(
            ["systemd-run", "--user", "--unit", unit, "--collect", "--property", "Restart=on-failure", *argv],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if made.returncode == 0:
            (folder / "watch.unit").write_text(unit + "\n")
            return f"watch runs as the systemd user service {unit} (journalctl --user -u {unit})"
    log = open(folder / "watch.log", "ab")  # noqa: SIM115 - handed to the child, closed here after
    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        log.close()
    return f"watch runs in the background as pid {child.pid} (log: {folder / 'watch.log'}; stop: isaacctl watch --stop)"


def _read_pid(folder: Path) -> Optional[int]:
    try:
        return int((folder / "watch.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _stop(folder: Path) -> str:
    import signal

    unit_file = folder / "watch.unit"
    if unit_file.exists():
        unit = unit_file.read_text().strip()
        subprocess.run(["systemctl", "--user", "stop", unit], capture_output=True, timeout=30)
        unit_file.unlink(missing_ok=True)
        return f"stopped the systemd user service {unit}"
    pid = _read_pid(folder)
    if pid is None:
        return "no background watch runs for this state folder"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        cmdline = []
    if b"watch" not in cmdline:  # a stale pid file: that number may be someone else's process now
        (folder / "watch.pid").unlink(missing_ok=True)
        return "no background watch runs for this state folder"
    os.kill(pid, signal.SIGTERM)
    # it started in a session of its own: what it runs (ssh, rsync) goes with it
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    for child in _session_members(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass
    return f"stopped the background watch (pid {pid})"


def _alive(pid: int) -> bool:
    """Not a zombie: a detached watch is reaped by whoever adopted it, maybe later."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _session_members(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == sid:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: the session id
            found.append(int(entry.name))
    return found
