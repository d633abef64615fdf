"""Reading deployment and job records without pydantic, for `list`, `status NAME` and a
`fetch-logs` with nothing new (their start-up budgets are 0.1-0.2 s, and importing pydantic and
building the record schemas costs ~60-150 ms of it).

This does not replace the models in records.py, it follows them: the shape of every model
(field names, types, literals, patterns) is worked out from the pydantic models themselves
and kept in the start-up cache, keyed by the source of records.py and of this file, so it can
never describe models that changed since. A record is read here only when it is exactly in
the form this release writes (every field present, JSON types as `model_dump_json` writes
them, values the model accepts); anything else (an older schema, a hand edit, a bad value)
returns None and the caller validates it with pydantic, which gives the same record or the
same error. So the only difference a reader sees is speed.

The few derived values records carry (a node's address, the GPU summary...) are written once
here, as functions, and both the pydantic models and the records read here use them."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaacctl import startup_cache

if TYPE_CHECKING:
    from pydantic import BaseModel

# -- derived values, shared with records.py ------------------------------------------------------


def gpu_summary(facts: Any) -> str:
    if facts is None or not facts.gpus:
        return "-"
    models = [gpu.model for gpu in facts.gpus]
    first = models[0]
    return first if len(models) == 1 else f"{len(models)}x {first}"


def node_address(node: Any) -> str:
    """What a person would call a node: its SSH host, else "localhost"."""
    return "localhost" if node.ssh is None else str(node.ssh.host)


def head_of(record: Any) -> Any:
    return record.nodes[0] if record.nodes else None


def node_of(record: Any, index: int) -> Any:
    """The node with this index; IndexError names the ones there are."""
    for node in record.nodes:
        if node.index == index:
            return node
    raise IndexError(f"deployment {record.name!r} has nodes {[n.index for n in record.nodes]}, not {index}")


def deployment_address(record: Any) -> str:
    node = head_of(record)
    return "-" if node is None else node_address(node)


def facts_of(record: Any) -> Any:
    """The head node's facts (what one-node commands show)."""
    head = head_of(record)
    return head.facts if head is not None else None


def bootstrap_of(record: Any) -> Any:
    """The head node's bootstrap steps."""
    head = head_of(record)
    return head.bootstrap if head is not None else {}


# -- records read without pydantic ----------------------------------------------------------------


class ReadRecord:
    """A model's fields as attributes (what list's rendering and pricing read)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


class ReadNode(ReadRecord):
    address = property(node_address)
    gpu_summary = property(lambda self: gpu_summary(self.facts))


class ReadDeployment(ReadRecord):
    head = property(head_of)
    node = node_of
    facts = property(facts_of)
    bootstrap = property(bootstrap_of)
    address = property(deployment_address)
    gpu_summary = property(lambda self: gpu_summary(facts_of(self)))


# records.py's: a job (or a node's part of one) that will not change any more
FINAL_JOB_STATES = ("succeeded", "failed", "cancelled")


def job_finished(job: Any) -> bool:
    return job.status in FINAL_JOB_STATES


class ReadJob(ReadRecord):
    finished = property(job_finished)


CLASSES: dict[str, type[ReadRecord]] = {
    "Node": ReadNode,
    "DeploymentRecord": ReadDeployment,
    "JobRecord": ReadJob,
    "NodeRun": ReadJob,
}
ROOT = "DeploymentRecord"
ROOTS = (ROOT, "JobRecord")

# How model_dump_json writes a datetime: seconds, then microseconds only when there are any,
# then Z for UTC or an offset (none for a naive one). Other spellings pydantic also accepts
# are left to pydantic.
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?(Z|[+-]\d{2}:\d{2})?")
PLAIN = {"str": str, "int": int, "float": float, "bool": bool}


class NotCanonical(Exception):
    """Not in the form this release writes: pydantic decides."""


class Reader:
    def __init__(self, shapes: dict[str, dict[str, str]]) -> None:
        self.shapes = shapes
        self.patterns: dict[str, re.Pattern[str]] = {}

    def deployment(self, data: Any) -> ReadDeployment | None:
        try:
            record = self._model(ROOT, data)
        except NotCanonical:
            return None
        assert isinstance(record, ReadDeployment)
        return record

    def job(self, data: Any) -> ReadJob | None:
        """A job record (what `store.jobs` validates), or None: pydantic decides."""
        if "JobRecord" not in self.shapes:
            return None
        try:
            record = self._model("JobRecord", data)
        except NotCanonical:
            return None
        assert isinstance(record, ReadJob)
        return record

    def _model(self, name: str, data: Any) -> ReadRecord:
        shape = self.shapes[name]
        if type(data) is not dict or data.keys() != shape.keys():
            raise NotCanonical(name)
        values = {field: self._value(spec, data[field]) for field, spec in shape.items()}
        return CLASSES.get(name, ReadRecord)(values)

    def _value(self, spec: str, value: Any) -> Any:
        if spec.startswith("?"):
            return None if value is None else self._value(spec[1:], value)
        kind, _, rest = spec.partition(":")
        if kind in PLAIN:
            if type(value) is not PLAIN[kind]:  # not isinstance: True is not an int here
                raise NotCanonical(spec)
            return value
        if kind == "datetime":
            return _datetime(value)
        if kind == "lit":
            if type(value) is not str or value not in rest.split("|"):
                raise NotCanonical(spec)
            return value
        if kind == "re":
            pattern = self.patterns.get(rest) or self.patterns.setdefault(rest, re.compile(rest))
            # fullmatch: Python's $ also matches before a final newline, pydantic's does not
            if type(value) is not str or not pattern.fullmatch(value):
                raise NotCanonical(spec)
            return value
        if kind == "model":
            return self._model(rest, value)
        if kind == "list":
            if type(value) is not list:
                raise NotCanonical(spec)
            return [self._value(rest, item) for item in value]
        if kind == "dict":
            if type(value) is not dict:
                raise NotCanonical(spec)
            if rest == "any":
                return value
            return {key: self._value(rest, item) for key, item in value.items()}
        raise NotCanonical(spec)


def _datetime(value: Any) -> datetime:
    if type(value) is not str or not DATETIME.fullmatch(value):
        raise NotCanonical("datetime")
    try:  # Python 3.10's fromisoformat does not read Z
        return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:  # 24:00, February 30th...: pydantic says what is wrong
        raise NotCanonical("datetime") from None


# -- the models' shapes, worked out from records.py and cached ----------------------------------

CACHE_KIND = "record-shapes"


def _cache_key() -> str | None:
    here = Path(__file__).parent
    try:
        return startup_cache.key((here / "records.py").read_bytes(), Path(__file__).read_bytes())
    except OSError:  # not installed as files (a zip): no shortcut
        return None


def cached_reader() -> Reader | None:
    """A reader when the shapes of this release's models are cached, else None (validate with
    pydantic, then call remember_shapes)."""
    key = _cache_key()
    shapes = None if key is None else startup_cache.read(CACHE_KIND, key)
    return Reader(shapes) if isinstance(shapes, dict) else None


def remember_shapes() -> None:
    key = _cache_key()
    if key is None or startup_cache.disabled():
        return
    try:
        shapes = model_shapes()
    except NotImplementedError:  # a model this reader cannot mirror: list keeps using pydantic
        return
    startup_cache.write(CACHE_KIND, key, shapes)


def model_shapes() -> dict[str, dict[str, str]]:
    """Every model reachable from DeploymentRecord and JobRecord: field -> spec ("str", "?datetime",
    "lit:a|b", "re:PATTERN", "model:Node", "list:model:Node", "dict:any"...). Raises on
    anything this reader cannot mirror exactly, so such a model is never read here."""
    from isaacctl import records

    shapes: dict[str, dict[str, str]] = {}
    pending = [getattr(records, root) for root in ROOTS]
    while pending:
        model = pending.pop()
        if model.__name__ in shapes:
            continue
        _check_mirrorable(model)
        shapes[model.__name__] = {}
        for field, info in model.model_fields.items():
            spec = _spec(info.annotation, pending)
            patterns = [getattr(item, "pattern", None) for item in info.metadata]
            if any(pattern is None for pattern in patterns) or len(patterns) > 1 or (patterns and spec != "str"):
                raise NotImplementedError(f"{model.__name__}.{field}: constraints {info.metadata}")
            shapes[model.__name__][field] = f"re:{patterns[0]}" if patterns else spec
    return shapes


def _check_mirrorable(model: type[BaseModel]) -> None:
    decorators = model.__pydantic_decorators__
    hooks = (
        decorators.validators,
        decorators.field_validators,
        decorators.root_validators,
        decorators.model_validators,
        decorators.field_serializers,
        decorators.model_serializers,
        decorators.computed_fields,
    )
    if model.model_config.get("extra") != "forbid" or any(hooks) or model.model_config.get("strict"):
        raise NotImplementedError(f"{model.__name__}: validators or settings this reader does not mirror")


def _spec(annotation: Any, pending: list[Any]) -> str:
    import types
    import typing

    from pydantic import BaseModel

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        others = [arg for arg in args if arg is not type(None)]
        if len(others) != 1 or len(args) != 2:
            raise NotImplementedError(f"union {annotation}")
        return "?" + _spec(others[0], pending)
    if origin is typing.Literal:
        if not all(type(arg) is str and "|" not in arg for arg in args):
            raise NotImplementedError(f"literal {annotation}")
        return "lit:" + "|".join(args)
    if origin is list:
        return "list:" + _spec(args[0], pending)
    if origin is dict:
        if args[0] is not str:
            raise NotImplementedError(f"dict keys {annotation}")
        return "dict:any" if args[1] is Any else "dict:" + _spec(args[1], pending)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        pending.append(annotation)
        return f"model:{annotation.__name__}"
    if annotation is datetime:
        return "datetime"
    for name, kind in PLAIN.items():
        if annotation is kind:
            return name
    raise NotImplementedError(f"type {annotation}")
