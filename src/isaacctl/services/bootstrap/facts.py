"""Parses what templates/bootstrap/facts.sh prints."""

from __future__ import annotations

from dataclasses import dataclass

from isaacctl.records import GpuFact, HostFacts


@dataclass(frozen=True)
class ParsedFacts:
    facts: HostFacts
    home: str
    user: str
    docker: str  # a server version, "missing" or "no-access"
    nvidia_smi: bool
    nvidia_pci_devices: int
    container_toolkit: bool
    python3: bool


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_gpu(line: str) -> GpuFact:
    name, _, rest = line.partition(",")
    memory, _, driver = rest.partition(",")
    return GpuFact(model=name.strip(), memory_mib=_int(memory.strip()), driver_version=driver.strip() or None)


def parse_facts(output: str) -> ParsedFacts:
    values: dict[str, str] = {}
    gpus: list[GpuFact] = []
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "GPU":
            gpus.append(parse_gpu(value))
        else:
            values[key] = value.strip()
    memory_kib = _int(values.get("MEMORY_KIB"))
    free_kib = _int(values.get("FREE_DISK_KIB"))
    facts = HostFacts(
        os=values.get("OS"),
        kernel=values.get("KERNEL"),
        cpus=_int(values.get("CPUS")),
        memory_mib=memory_kib // 1024 if memory_kib else None,
        free_disk_gib=round(free_kib / 1024 / 1024, 1) if free_kib is not None else None,
        gpus=gpus,
    )
    return ParsedFacts(
        facts=facts,
        home=values.get("HOME", ""),
        user=values.get("USER", ""),
        docker=values.get("DOCKER", "missing"),
        nvidia_smi=values.get("NVIDIA_SMI") == "yes",
        nvidia_pci_devices=_int(values.get("NVIDIA_PCI")) or 0,
        container_toolkit=values.get("NVIDIA_CTK", "missing") != "missing",
        python3=values.get("PYTHON3", "missing") != "missing",
    )
