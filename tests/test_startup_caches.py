"""What `train` no longer redoes on every run, kept in the start-up cache: the provider registry
(an entry-point scan of every installed distribution) and the YAML files of templates/. Each
entry gives exactly what the slow path gives, and a change to what it depends on is a miss."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from isaacctl import resources, startup_cache
from isaacctl.providers import registry


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ISAACCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ISAACCTL_NO_SHORTCUTS", raising=False)
    registry._registered.cache_clear()
    yield tmp_path / "cache"
    registry._registered.cache_clear()


def test_the_registry_from_the_cache_is_the_scanned_one_without_a_scan(own_cache, monkeypatch):
    scanned = registry._registered()
    assert {"aws", "gcp", "azure", "alibaba", "ssh", "local"} <= set(scanned)
    assert list(own_cache.glob("providers-*"))
    registry._registered.cache_clear()

    real = importlib.metadata.entry_points

    def no_scan(**kwargs):
        assert kwargs.get("group") != registry.GROUP, "the providers' entry points were scanned again"
        return real(**kwargs)  # pydantic's own plugin group, for instance

    monkeypatch.setattr(importlib.metadata, "entry_points", no_scan)
    assert registry._registered() == scanned
    assert type(registry.get_provider("ssh")).__name__ == "SshProvider"


def test_an_install_is_a_miss(own_cache, monkeypatch, tmp_path):
    registry._registered()
    registry._registered.cache_clear()
    installed = tmp_path / "site"
    installed.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(installed)])  # a plugin's folder, say
    scans = []
    real = importlib.metadata.entry_points

    def counted(**kwargs):
        scans.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counted)
    registry._registered()
    assert {"group": registry.GROUP} in scans


def test_a_yaml_template_from_the_cache_is_the_parsed_one(own_cache, monkeypatch):
    import yaml

    parsed = yaml.safe_load(resources.template_text("tasks.yaml"))
    assert resources.template_yaml("tasks.yaml") == parsed
    monkeypatch.setattr(yaml, "load", lambda *_, **__: pytest.fail("parsed again"))
    assert resources.template_yaml("tasks.yaml") == parsed


def test_a_changed_yaml_is_parsed_again_and_what_json_changes_is_never_cached(own_cache, monkeypatch):
    texts = {"x.yaml": "a: 1\n"}
    monkeypatch.setattr(resources, "template_text", lambda relative: texts[relative])
    assert resources.template_yaml("x.yaml") == {"a": 1}
    texts["x.yaml"] = "a: 2\n"
    assert resources.template_yaml("x.yaml") == {"a": 2}
    texts["x.yaml"] = "when: 2026-10-20\n"  # a date: JSON would give back a string
    value = resources.template_yaml("x.yaml")
    assert type(value["when"]).__name__ == "date"
    assert not [entry for entry in own_cache.glob("yaml-x-*") if "2026" in entry.read_text()]
    assert startup_cache.read("yaml-x", startup_cache.key("x.yaml", texts["x.yaml"])) is None
