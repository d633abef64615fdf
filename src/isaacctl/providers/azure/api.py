"""Credentials, clients, tags and long-running operations for one subscription.

Credentials: azure-identity's own credentials, chained as `DefaultAzureCredential` would, less
what surprises people: the environment's service principal (AZURE_CLIENT_ID with a secret or a
certificate, AZURE_TENANT_ID), then the managed identity only when isaacctl runs on Azure, then
the Azure CLI's login (`az login`). DefaultAzureCredential asks the instance metadata address
(169.254.169.254) on every machine, which off Azure costs a timeout and sends a request to
whatever answers there; here the managed identity is tried only when the machine says it is on
Azure (its DMI asset tag, or the IDENTITY_ENDPOINT/MSI_ENDPOINT that App Service, Arc and Cloud
Shell set).

Endpoints: Azure's public cloud unless ISAACCTL_AZURE_ENDPOINT names another Resource Manager
(Azure Stack Hub, a sovereign cloud); its tokens then come from AZURE_AUTHORITY_HOST (read by
azure-identity itself), and its CA from REQUESTS_CA_BUNDLE (read by requests under azure-core).
Long-running operations are polled every ISAACCTL_AZURE_POLL_SECONDS (default 5; Azure's
Retry-After wins when it sends one)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from isaacctl.errors import ProviderError
from isaacctl.providers.azure.errors import azure_error
from isaacctl.providers.base import ID_KEY, NAME_KEY, Identity
from isaacctl.providers.toolkit.tags import cloud_tags, identity_from_tags, unique_name

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from isaacctl.providers.azure.options import AzureOptions

T = TypeVar("T")

ENDPOINT_ENV = "ISAACCTL_AZURE_ENDPOINT"
POLL_ENV = "ISAACCTL_AZURE_POLL_SECONDS"
PUBLIC_ENDPOINT = "https://management.azure.com"
DEFAULT_POLL_SECONDS = 5.0
# Microsoft's own authority hosts: MSAL validates those through its instance discovery. Another
# host given in AZURE_AUTHORITY_HOST (Azure Stack's, a private cloud's) is the user's explicit
# choice, and instance discovery would ask login.microsoftonline.com about it: turned off.
KNOWN_AUTHORITIES = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.microsoftonline.de",
        "login.windows.net",
    }
)
# Azure writes this asset tag into the DMI data of every VM it runs (cloud-init's ds-identify
# uses it the same way): reading it is a file read, not a network probe.
AZURE_ASSET_TAG = "7783-7084-3265-9085"
ASSET_TAG_FILE = Path("/sys/class/dmi/id/chassis_asset_tag")

# Azure tags take the generic keys as they are (no ':' restrictions to work around).
NAME_TAG, ID_TAG = NAME_KEY, ID_KEY


def endpoint() -> str:
    return (os.environ.get(ENDPOINT_ENV) or PUBLIC_ENDPOINT).rstrip("/")


def poll_seconds() -> float:
    text = os.environ.get(POLL_ENV)
    if not text:
        return DEFAULT_POLL_SECONDS
    try:
        value = float(text)
    except ValueError:
        raise ProviderError(f"{POLL_ENV}: expected a number of seconds, got {text!r}") from None
    if not 0 <= value <= 300:
        raise ProviderError(f"{POLL_ENV}: expected 0 to 300 seconds, got {text!r}")
    return value


def on_azure() -> bool:
    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        return True
    try:
        return ASSET_TAG_FILE.read_text().strip() == AZURE_ASSET_TAG
    except OSError:
        return False


def cli_default_subscription() -> str | None:
    """The Azure CLI's default subscription (`az account set`), read from its profile file as
    `az account show` would, without starting the CLI (about a second)."""
    folder = Path(os.environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    try:
        # the CLI writes it with a byte-order mark
        profile = json.loads((folder / "azureProfile.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    for subscription in profile.get("subscriptions") or []:
        if subscription.get("isDefault") and subscription.get("id"):
            return str(subscription["id"])
    return None


@lru_cache(maxsize=1)
def shared_credential() -> TokenCredential:
    """One credential for the whole process: every client shares its token cache, so a command
    asks for a token once (plan, the name check and create each make their clients)."""
    return make_credential()


def make_credential() -> TokenCredential:
    from azure.identity import (
        AzureCliCredential,
        ChainedTokenCredential,
        EnvironmentCredential,
        ManagedIdentityCredential,
    )

    authority = os.environ.get("AZURE_AUTHORITY_HOST")
    host = urlsplit(authority if "//" in (authority or "") else f"https://{authority}").hostname if authority else None
    private_authority = host is not None and host not in KNOWN_AUTHORITIES
    chain: list[Any] = [
        EnvironmentCredential(disable_instance_discovery=True) if private_authority else EnvironmentCredential()
    ]
    if on_azure():
        chain.append(ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID")))
    chain.append(AzureCliCredential(process_timeout=20))
    return ChainedTokenCredential(*chain)


def scope() -> str:
    return f"{endpoint()}/.default"


# -- names and tags ------------------------------------------------------------------------------
def group_name(identity: Identity) -> str:
    """The deployment's resource group: `isaacctl-<name>-<id>` (90 characters at most), so two
    state folders' deployments of one name never share one."""
    return unique_name(identity, max_length=90)


def resource_name(identity: Identity, what: str) -> str:
    return f"isaacctl-{identity.name}-{what}"


def tags_of(identity: Identity) -> dict[str, str]:
    return cloud_tags(identity)


def identity_in(tags: dict[str, str] | None) -> Identity | None:
    return identity_from_tags(tags or {})


def owned_by(tags: dict[str, str] | None, owner: Identity | None) -> bool:
    """Tagged with `owner`'s name and its id (or no id: made before ids); any isaacctl
    deployment's when owner is None."""
    who = identity_in(tags)
    if who is None:
        return False
    return owner is None or (who.name == owner.name and owner.owns(who.id or None))


def tag_filter(deployment: str | None) -> str:
    """The $filter ARM lists take (one tag at a time; ids are checked afterwards)."""
    if deployment is None:
        return f"tagName eq '{NAME_TAG}'"
    return f"tagName eq '{NAME_TAG}' and tagValue eq '{deployment}'"


def plain(model: Any) -> dict[str, Any]:
    """An SDK model as the REST JSON it came from (camelCase, as Azure documents it)."""
    if model is None:
        return {}
    if hasattr(model, "as_dict"):
        return dict(model.as_dict())
    return dict(model)


# -- clients -------------------------------------------------------------------------------------
@dataclass
class Azure:
    """What one command needs to talk to Resource Manager in one subscription."""

    options: AzureOptions
    _credential: Any = field(default=None, repr=False)
    # resource groups this object made -> the names looked up in them since (see `lookup`)
    _new_groups: dict[str, set[str]] = field(default_factory=dict, repr=False)
    # resources this object made or read, by lower-cased id (Azure varies the case of ids)
    _known: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def subscription(self) -> str:
        if not self.options.subscription:
            from isaacctl.errors import UserError

            raise UserError(
                "--subscription: no subscription given, none in AZURE_SUBSCRIPTION_ID and no Azure CLI default",
                hint="pass --subscription ID, or 'az login' then 'az account set'",
            )
        return self.options.subscription

    @property
    def credential(self) -> TokenCredential:
        if self._credential is None:
            self._credential = shared_credential()
        credential: TokenCredential = self._credential
        return credential

    def _kwargs(self) -> dict[str, Any]:
        base = endpoint()
        return {
            "base_url": base,
            "credential_scopes": [scope()],
            "polling_interval": poll_seconds(),
            "user_agent": "isaacctl",
            "retry_total": 6,
            "retry_backoff_factor": 1.0,
        }

    @cached_property
    def compute(self) -> Any:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self.subscription, **self._kwargs())

    @cached_property
    def network(self) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, self.subscription, **self._kwargs())

    @cached_property
    def resources(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential, self.subscription, **self._kwargs())

    def call(self, doing: str, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One call; Azure's failures become one-line ProviderErrors naming what isaacctl did."""
        from azure.core.exceptions import AzureError
        from azure.identity import CredentialUnavailableError

        try:
            return operation(*args, **kwargs)
        except (AzureError, CredentialUnavailableError) as exc:
            raise azure_error(exc, doing) from exc

    def wait(self, doing: str, poller: Any) -> Any:
        """The result of a long-running operation (polled as the client was told)."""
        return self.call(doing, poller.result)

    def remember(self, resource: dict[str, Any]) -> dict[str, Any]:
        self._known[str(resource["id"]).lower()] = resource
        return resource

    def known(self, resource_id: str) -> dict[str, Any] | None:
        """A resource as this command last made or read it: a NIC's and a public IP's
        addresses are fixed when they are made, so the deploy that made them need not ask."""
        return self._known.get(resource_id.lower())

    def made_group(self, rg: str) -> None:
        """`rg` was just made: nothing is in it but what this deploy makes next."""
        self._new_groups[rg] = set()

    def made_now(self, rg: str) -> bool:
        return rg in self._new_groups

    def lookup(self, doing: str, operation: Callable[..., T], rg: str, *names: str) -> T | None:
        """get_or_none(operation, rg, *names) for the ensure_* steps, which make what they do
        not find. In a group this deploy made, a name's first lookup is answered None without
        a request (nothing predates the deploy there); asked again (a zone's attempt retried,
        something deleted since), it is read."""
        asked = self._new_groups.get(rg)
        key = "/".join(names)
        if asked is not None and key not in asked:
            asked.add(key)
            return None
        return self.get_or_none(doing, operation, rg, *names)

    def get_or_none(self, doing: str, operation: Callable[..., T], *args: Any) -> T | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return operation(*args)
        except ResourceNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - mapped like every other failure
            from azure.core.exceptions import AzureError

            if isinstance(exc, AzureError):
                raise azure_error(exc, doing) from exc
            raise

    def subscription_info(self) -> dict[str, Any]:
        """GET /subscriptions/{id}: its display name and state (the resource client's pipeline,
        so the same credential, endpoint and CA)."""
        from azure.core.rest import HttpRequest

        request = HttpRequest("GET", f"/subscriptions/{self.subscription}?api-version=2022-12-01")
        response = self.call("reading the subscription", self.resources.send_request, request)
        if response.status_code >= 400:
            from azure.core.exceptions import HttpResponseError

            raise azure_error(HttpResponseError(response=response), "reading the subscription")
        return dict(response.json())
