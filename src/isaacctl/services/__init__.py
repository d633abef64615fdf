"""What isaacctl does, independent of how it is asked: commands call these, render results."""
