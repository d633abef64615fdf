"""Installs (or removes) isaacctl's autostop watchdog on a host; run there by isaacctl with
`python3 -c`, everything it writes arriving as JSON on stdin (no secret is among it).

stdin: {"dir", "unit", "config" (or null to remove), "watchdog", "service", "timer"}.
With systemd as PID 1 and root (or password-less sudo), the watchdog is a timer-driven
oneshot service, kept across reboots. Otherwise (containers, hosts without systemd) the same
script runs as a detached `--loop` process, which does not outlive a reboot: it says so.
Prints one JSON line: {"mode": "systemd"|"loop"|"removed", "note": ...}."""

import json
import os
import signal
import subprocess
import sys
import time

spec = json.loads(sys.stdin.read())
folder, unit = spec["dir"], spec["unit"]
os.makedirs(folder, exist_ok=True)
units = "/etc/systemd/system"


def privileged(argv):
    return argv if os.geteuid() == 0 else ["sudo", "-n", *argv]


def quiet(argv, data=None):
    try:
        return subprocess.run(argv, input=data, capture_output=True, text=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def systemd_usable():
    return os.path.isdir("/run/systemd/system") and (os.geteuid() == 0 or quiet(["sudo", "-n", "true"]))


def stop_loop():
    """The detached watchdog, if one runs from this folder (checked by its command line)."""
    try:
        with open(os.path.join(folder, "watchdog.pid")) as handle:
            pid = int(handle.read().split()[0])
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            if os.path.join(folder, "watchdog.py").encode() not in handle.read():
                return
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.05)
    except (OSError, ValueError, IndexError):
        pass


def remove_units():
    if os.path.exists("%s/%s.timer" % (units, unit)):
        quiet(privileged(["systemctl", "disable", "--now", unit + ".timer"]))
        quiet(privileged(["rm", "-f", "%s/%s.timer" % (units, unit), "%s/%s.service" % (units, unit)]))
        quiet(privileged(["systemctl", "daemon-reload"]))


def write(name, text, mode=0o644):
    path = os.path.join(folder, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


stop_loop()
if spec.get("config") is None:
    remove_units()
    for name in ("config.json", "watchdog.pid"):
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass
    print(json.dumps({"mode": "removed", "note": "autostop is off"}))
    sys.exit(0)

write("watchdog.py", spec["watchdog"], 0o755)
write("config.json", json.dumps(spec["config"], indent=2, sort_keys=True) + "\n")
# setting (or changing) autostop counts as activity: the idle clock starts now
with open(os.path.join(folder, "activity"), "a"):
    os.utime(os.path.join(folder, "activity"))

if systemd_usable():
    ok = True
    for suffix in ("service", "timer"):
        ok = ok and quiet(privileged(["tee", "%s/%s.%s" % (units, unit, suffix)]), spec[suffix])
    ok = ok and quiet(privileged(["systemctl", "daemon-reload"]))
    ok = ok and quiet(privileged(["systemctl", "enable", unit + ".timer"]))
    # restart: a changed interval takes effect now
    ok = ok and quiet(privileged(["systemctl", "restart", unit + ".timer"]))
    if ok:
        print(json.dumps({"mode": "systemd", "note": "systemd timer %s.timer" % unit}))
        sys.exit(0)
    remove_units()

python = sys.executable or "python3"
try:
    os.unlink(os.path.join(folder, "watchdog.pid"))  # the new one writes its own
except OSError:
    pass
subprocess.Popen([python, os.path.join(folder, "watchdog.py"), "--dir", folder, "--loop"],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=open(os.path.join(folder, "watchdog.err"), "a"), start_new_session=True, close_fds=True)
for _ in range(100):
    if os.path.exists(os.path.join(folder, "watchdog.pid")):
        break
    time.sleep(0.05)
print(json.dumps({"mode": "loop", "note": "no systemd here: a detached process, which a reboot ends "
                                          "(run 'isaacctl autostop' again after one)"}))
