"""isaacctl stand-in for Isaac Lab's scripts/environments/list_envs.py."""

import os
import sys

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "_standin_site")
)
from isaaclab_standin import list_envs  # noqa: E402

if __name__ == "__main__":
    sys.exit(list_envs.main())
