"""Stand-in for the `tensorboard` package (NOT TensorBoard): only `python -m tensorboard.main`."""
