"""Activates the isaacctl loopback guard in Python subprocesses of the test suite.

tests/guard is put first on PYTHONPATH by the harness (harness.cli.guarded_env); when
ISAACCTL_LOOPBACK_GUARD=1 is set, every socket connect outside 127.0.0.0/8 and ::1 raises
``OSError("loopback guard: refused connection to ...")``. Because this file shadows any other
``sitecustomize`` module, it then loads the one that would otherwise have been imported
(Debian ships /usr/lib/python3.X/sitecustomize.py, for instance).
"""

import os as _os
import sys as _sys


def _isaacctl_guard_setup() -> None:
    here = _os.path.dirname(_os.path.abspath(__file__))
    if here not in [_os.path.abspath(p) for p in _sys.path if p]:
        _sys.path.append(here)
    import loopback_guard

    loopback_guard.install_if_enabled()

    # chain to the sitecustomize that this one shadows
    import importlib.machinery
    import importlib.util

    rest = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    if spec.origin and _os.path.abspath(spec.origin) == _os.path.abspath(__file__):
        return
    module = importlib.util.module_from_spec(spec)
    _sys.modules["_isaacctl_chained_sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # same leniency as site.py
        print(f"Error in chained sitecustomize {spec.origin}: {exc!r}", file=_sys.stderr)


_isaacctl_guard_setup()
del _isaacctl_guard_setup
