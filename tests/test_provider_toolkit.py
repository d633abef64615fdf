"""providers/toolkit: the pieces every cloud provider shares (no cloud, no network)."""

from __future__ import annotations

import re
import time

import pytest

from isaacctl.errors import ProviderError
from isaacctl.providers.base import Identity
from isaacctl.providers.toolkit import failover, ingress, pricing, retry, tags

WHO = Identity("ws1", "3fa2c1d0", "Alice.Smith@Laptop.local", "2026-11-30T14:02:00+00:00")


def test_aws_tags_keep_the_historical_name_key_and_read_back():
    from isaacctl.providers.aws.api import TAG_KEYS, identity_in, tags_of

    aws = tags_of(WHO)
    assert {"Key": "isaacctl:deployment", "Value": "ws1"} in aws
    assert {"Key": "isaacctl:deployment-id", "Value": "3fa2c1d0"} in aws
    assert identity_in(aws) == WHO
    assert tags.identity_from_tags({"isaacctl:deployment": "ws1"}, TAG_KEYS) == Identity("ws1", "")
    assert tags.identity_from_tags({"other": "x"}, TAG_KEYS) is None


def test_gcp_labels_are_valid_gcp_labels():
    long = Identity("ws1", "3fa2c1d0", "x" * 100 + "@Host", "2026-11-30T14:02:00+00:00")
    for identity in (WHO, long):
        labels = tags.gcp_labels(identity)
        for key, value in labels.items():
            assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key), key
            assert re.fullmatch(r"[a-z0-9_-]{0,63}", value), value
        assert labels["isaacctl-deployment"] == "ws1" and labels["isaacctl-deployment-id"] == "3fa2c1d0"
    assert tags.gcp_labels(WHO)["isaacctl-creator"] == "alice_smith_laptop_local"


def test_unique_names_never_cut_the_id():
    assert tags.unique_name(WHO) == "isaacctl-ws1-3fa2c1d0"
    cut = tags.unique_name(Identity("n" * 80, "3fa2c1d0"), max_length=63)
    assert len(cut) == 63 and cut.endswith("-3fa2c1d0")


@pytest.mark.parametrize(
    "given, expected",
    [
        ("myip", "myip"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("10.1.2.0/24", "10.1.2.0/24"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:db8::1", "2001:db8::1/128"),
    ],
)
def test_ingress_normalisation(given, expected):
    assert ingress.normalize_cidr(given) == expected


@pytest.mark.parametrize("bad", ["0/0", "everyone", "10.0.0.0/33", "0.0.0.0/0."])
def test_ingress_refuses_typos(bad):
    with pytest.raises(ValueError):
        ingress.normalize_cidr(bad)


def test_failover_tries_in_order_and_keeps_a_table():
    attempts = [failover.Attempt("z0", "skipped", "not sold there")]
    told = []

    def attempt(zone):
        if zone != "z2":
            raise failover.TryNext("NoRoom", f"{zone} is full")
        return zone

    assert failover.first_that_works(["z1", "z2", "z3"], attempt, attempts, told.append) == "z2"
    assert [(a.zone, a.outcome) for a in attempts] == [("z0", "skipped"), ("z1", "NoRoom")]
    assert [a.zone for a in told] == ["z1"]
    assert (
        failover.first_that_works(["z9"], lambda z: (_ for _ in ()).throw(failover.TryNext("X", "y")), attempts) is None
    )
    table = failover.attempts_table(attempts).splitlines()
    assert table[0].split() == ["ZONE", "OUTCOME", "WHY"] and len(table) == 4


def test_poll_until_backs_off_and_times_out(monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    values = iter([None, None, None, "done"])
    assert retry.poll_until(lambda: next(values), "a thing", 60) == "done"
    assert slept == [1, 2, 4]
    clock = iter(range(0, 10_000, 7))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(clock)))
    with pytest.raises(ProviderError, match="timed out after 20 s waiting for never"):
        retry.poll_until(lambda: None, "never", 20, provider="test")


def test_retry_while_retries_only_what_it_is_told(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("busy")
        return "ok"

    assert retry.retry_while(flaky, lambda exc: str(exc) == "busy", 60) == "ok" and len(calls) == 3
    with pytest.raises(KeyError):
        retry.retry_while(lambda: {}["x"], lambda exc: False, 60)


def test_the_aws_price_catalog_loads_dated():
    catalog = pricing.load_catalog("aws")
    assert catalog.date and catalog.currency == "USD" and catalog.types["g6e.2xlarge"].gpus == 1
    assert catalog.label.startswith("templates/aws/prices.yaml (")
    assert catalog.disk_hourly(730) == pytest.approx(catalog.disk_gib_month)


def test_cloud_init_installs_the_driver_branch_bootstrap_checks():
    from isaacctl.providers.toolkit.cloudinit import DRIVER_BRANCH_TO_INSTALL, render_user_data
    from isaacctl.services.bootstrap.requirements import DRIVER_BRANCH_TO_INSTALL as BOOTSTRAP_BRANCH

    assert DRIVER_BRANCH_TO_INSTALL == BOOTSTRAP_BRANCH
    assert f"'{DRIVER_BRANCH_TO_INSTALL}'" in render_user_data("ws1", "ubuntu")


def test_providers_never_import_services():
    from pathlib import Path

    import isaacctl.providers

    root = Path(isaacctl.providers.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if "isaacctl.services" in p.read_text()]
    assert offenders == []
