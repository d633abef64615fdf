"""isaacctl stand-in: NOT PyTorch. Only `python -m torch.distributed.run` exists."""

__version__ = "0.0.0+isaacctl.standin"
