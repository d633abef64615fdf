"""`--ingress-cidr`: who may SSH in. A CIDR (a bare address becomes /32 or /128), or `myip`,
resolved by asking a "what is my address" URL."""

from __future__ import annotations

import ipaddress

from isaacctl.errors import UserError

MYIP = "myip"
MYIP_URL_ENV = "ISAACCTL_MYIP_URL"
DEFAULT_MYIP_URL = "https://checkip.amazonaws.com"
MYIP_TIMEOUT_SECONDS = 5.0
WHOLE_INTERNET = ("0.0.0.0/0", "::/0")


def normalize_cidr(value: str) -> str:
    """'myip', or a CIDR in canonical form. The whole internet only when spelt out literally:
    a typo such as '0.0.0.0/0.' or '0/0' never opens SSH to everyone. ValueError otherwise
    (raised inside pydantic validators, which name the flag)."""
    text = value.strip()
    if text == MYIP:
        return MYIP
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("expected 'myip' or a CIDR such as 203.0.113.7/32 (0.0.0.0/0 only if you mean it)") from None
    if network.prefixlen == 0 and text not in WHOLE_INTERNET:
        raise ValueError("expected a CIDR; write 0.0.0.0/0 (or ::/0) literally to open SSH to the world")
    return str(network)


def my_public_cidr(url: str, flag: str = "--ingress-cidr") -> str:
    """The caller's public address as /32 (/128), asked of `url`."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=MYIP_TIMEOUT_SECONDS) as response:  # noqa: S310
            text = response.read(200).decode("ascii", errors="replace").strip()
        address = ipaddress.ip_address(text)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"{flag}: could not find your public address at {url} ({exc})",
            hint=f"pass the network allowed to SSH in, e.g. {flag} 203.0.113.7/32",
        ) from None
    return f"{address}/{address.max_prefixlen}"


def resolve_ingress(value: str, myip_url: str, flag: str = "--ingress-cidr") -> str:
    """A normalised --ingress-cidr as the CIDR to open: `myip` is looked up now."""
    return my_public_cidr(myip_url, flag) if value == MYIP else value


def is_ipv6(cidr: str) -> bool:
    return ipaddress.ip_network(cidr).version == 6
