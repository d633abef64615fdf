"""Jobs: Isaac Lab training and evaluation runs on a deployment."""
