"""Whether this machine is one of a cloud's own VMs, from the firmware's vendor strings.

Cloud SDKs look for credentials on the instance metadata service as the last link of their
chains (GCE's 169.254.169.254, Alibaba's 100.100.100.200). Off that cloud such a probe only
waits for a time-out (seconds per command: google-auth retries three times) or, behind a
strict firewall, fails noisily. The SMBIOS strings answer the same question instantly and
offline, so providers switch the probe off where it cannot succeed."""

from __future__ import annotations

from pathlib import Path

DMI = Path("/sys/class/dmi/id")


def firmware_says(*vendors: str) -> bool:
    """True when the SMBIOS system vendor or product name starts with one of `vendors`."""
    for name in ("sys_vendor", "product_name"):
        try:
            text = (DMI / name).read_text(errors="replace").strip()
        except OSError:
            continue
        if any(text.startswith(vendor) for vendor in vendors):
            return True
    return False
