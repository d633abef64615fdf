"""Finding what isaacctl made by tag alone, and removing it in dependency order (instances
force-released, then deployment set, security group, key pair, vSwitches, VPC), then checking
that nothing tagged remains. Only resources carrying the deployment's id (or no id: made before
ids) are touched: another deployment of the same name is left exactly as it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.alibaba import network
from isaacctl.providers.alibaba.api import Alibaba, identity_in, owned, unique_name_of
from isaacctl.providers.alibaba.errors import IN_USE, code_of, is_not_found, message_of
from isaacctl.providers.alibaba.instances import RELEASED_TIMEOUT, find_instances, wait_for_state
from isaacctl.providers.base import CloudResource
from isaacctl.providers.toolkit.retry import retry_while
from isaacctl.providers.toolkit.verify import nothing_remains

if TYPE_CHECKING:
    from isaacctl.providers.alibaba.options import AlibabaOptions
    from isaacctl.providers.base import DeployContext, Identity

DEPENDENCY_TIMEOUT = 300.0  # a security group or vSwitch stays "in use" a little after its instance goes
KINDS = ("instance", "deployment-set", "security-group", "key-pair", "vswitch", "vpc")


def list_tagged(api: Alibaba, deployment: str | None, owner: Identity | None = None) -> list[CloudResource]:
    """Every live resource tagged for `deployment` (any deployment when None), only `owner`'s
    when given, in the region: one describe call per kind."""
    found: list[CloudResource] = []

    def add(
        kind: str,
        items: list[dict[str, Any]],
        id_key: str,
        state: Callable[[dict[str, Any]], str | None] = lambda item: None,
    ) -> None:
        for item in owned(items, owner):
            who = identity_in(item)
            if who is not None:
                found.append(
                    CloudResource(
                        kind,
                        str(item[id_key]),
                        who.name,
                        api.region,
                        state(item),
                        deployment_id=who.id or None,
                        creator=who.creator or None,
                        created=who.created or None,
                    )
                )

    add("instance", find_instances(api, deployment), "InstanceId", state=lambda i: str(i.get("Status", "")).lower())
    add("deployment-set", network.find_deployment_sets(api, deployment), "DeploymentSetId")
    add("security-group", network.find_security_groups(api, deployment), "SecurityGroupId")
    add("key-pair", network.find_key_pairs(api, deployment), "KeyPairName")
    add("vswitch", network.find_vswitches(api, deployment), "VSwitchId")
    add("vpc", network.find_vpcs(api, deployment), "VpcId")
    return found


def _delete(action: Callable[[], Any], what: str) -> None:
    """Delete something that may still be in use for a moment; gone already counts as deleted."""

    def in_use(exc: BaseException) -> bool:
        return code_of(exc) in IN_USE

    try:
        retry_while(action, in_use, DEPENDENCY_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - Tea exceptions carry the code
        if not is_not_found(exc):
            raise ProviderError(
                f"alibaba: cannot delete {what}: {code_of(exc) or type(exc).__name__}: {message_of(exc)}"
            ) from None


def destroy(api: Alibaba, ctx: DeployContext[AlibabaOptions]) -> None:
    name, identity = ctx.name, ctx.identity
    tagged = list_tagged(api, name, identity)
    by_kind: dict[str, list[str]] = {}
    for resource in tagged:
        by_kind.setdefault(resource.kind, []).append(resource.resource_id)

    # 1. instances: those tagged, and those the record knows even if their tags were lost (never
    # one tagged for another id); force-released whatever their state, in one call
    known = sorted({n.instance_id for n in ctx.record.nodes if n.instance_id} - set(by_kind.get("instance", [])))
    extra = (
        [
            i["InstanceId"]
            for i in find_instances(api, None, instance_ids=known)
            if identity_in(i) is None or owned([i], identity)
        ]
        if known
        else []
    )
    instance_ids = sorted(set(by_kind.get("instance", [])) | set(extra))
    if instance_ids:
        ctx.on_progress(f"releasing {', '.join(instance_ids)}")
        _delete(
            lambda: api.ecs(
                "DeleteInstances", "releasing the instances", {"InstanceId": instance_ids, "Force": True}, raw=True
            ),
            "the instances",
        )
        for instance_id in instance_ids:
            wait_for_state(api, instance_id, "Released", RELEASED_TIMEOUT, ctx.on_progress)
            ctx.deleted("instance", instance_id)

    # 2. deployment set (tagged, or only named: a deploy killed between making and tagging it)
    sets = set(by_kind.get("deployment-set", []))
    named = api.ecs(
        "DescribeDeploymentSets",
        "finding the deployment set by name",
        {"DeploymentSetName": unique_name_of(identity), "PageSize": 50},
    )
    sets |= {str(s["DeploymentSetId"]) for s in (named.get("DeploymentSets") or {}).get("DeploymentSet") or []}
    for set_id in sorted(sets):
        _delete(
            lambda set_id=set_id: api.ecs(
                "DeleteDeploymentSet",
                "deleting the deployment set",  # type: ignore[misc]
                {"DeploymentSetId": set_id},
                raw=True,
            ),
            f"deployment set {set_id}",
        )
        ctx.deleted("deployment-set", set_id)

    # 3. security group and key pair
    for group_id in by_kind.get("security-group", []):
        _delete(
            lambda group_id=group_id: api.ecs(
                "DeleteSecurityGroup",
                "deleting the security group",  # type: ignore[misc]
                {"SecurityGroupId": group_id},
                raw=True,
            ),
            f"security group {group_id}",
        )
        ctx.deleted("security-group", group_id)
    pairs = by_kind.get("key-pair", [])
    if pairs:
        api.ecs("DeleteKeyPairs", "deleting the key pair", {"KeyPairNames": json.dumps(pairs)})
        for pair in pairs:
            ctx.deleted("key-pair", pair)

    # 4. network pieces made for the deployment
    for vswitch_id in by_kind.get("vswitch", []):
        _delete(
            lambda vswitch_id=vswitch_id: api.vpc(
                "DeleteVSwitch",
                "deleting the vSwitch",  # type: ignore[misc]
                {"VSwitchId": vswitch_id},
                raw=True,
            ),
            f"vSwitch {vswitch_id}",
        )
        ctx.deleted("vswitch", vswitch_id)
    for vpc_id in by_kind.get("vpc", []):
        _delete(
            lambda vpc_id=vpc_id: api.vpc(
                "DeleteVpc",
                "deleting the VPC",  # type: ignore[misc]
                {"VpcId": vpc_id},
                raw=True,
            ),
            f"VPC {vpc_id}",
        )
        ctx.deleted("vpc", vpc_id)

    nothing_remains(lambda: list_tagged(api, name, identity), "alibaba", name, api.region)
