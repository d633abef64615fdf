"""isaacctl stand-in for Isaac Lab's scripts/reinforcement_learning/skrl/play.py (no simulation)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _standin  # noqa: E402

if __name__ == "__main__":
    sys.exit(_standin.main("skrl", "play"))
