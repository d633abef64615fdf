"""Test harness for isaacctl: a real sshd on loopback, the Docker engine, a password-protected
loopback registry with the stand-in Isaac Lab image, the CLI as a guarded subprocess.

tests/conftest.py puts tests/ on sys.path, so import these as ``harness.sshd`` etc.
"""
