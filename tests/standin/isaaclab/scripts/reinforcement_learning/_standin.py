"""Shared entry point of the stand-in's train.py/play.py scripts (isaacctl test double).

The logic lives in ../../_standin_site/isaaclab_standin (stdlib only).
"""

import os
import sys

_SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "_standin_site")
if _SITE not in sys.path:
    sys.path.insert(0, _SITE)


def main(library: str, mode: str) -> int:
    if mode == "train":
        from isaaclab_standin import train

        return train.main(library)
    from isaaclab_standin import play

    return play.main(library)
