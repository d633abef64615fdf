"""isaacctl's stand-in for Isaac Lab's training scripts (a test double).

Nothing here simulates anything: the scripts print what the real ones print,
write what they write (run folders, checkpoints, TensorBoard event files,
videos, exported policies) and react to signals the same way, quickly and
without a GPU. Standard library only.
"""
