"""`python -m isaaclab <sub> ...` (the console script `isaaclab` runs the same)."""

from isaaclab_standin import v3


def main() -> None:
    v3.enter()


if __name__ == "__main__":
    main()
