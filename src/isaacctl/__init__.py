"""isaacctl: a GPU workstation in the cloud for NVIDIA Isaac Lab, and the jobs that run on it."""

__version__ = "0.1.0"
