"""`isaacctl deploy <provider>`, built from the provider's options model when it is asked for.

Every provider, built in or installed by a third party under the `isaacctl.providers`
entry-point group, gets the same command: one flag per options field (its `description` as
help, its default shown), the bootstrap flags every deploy shares, --name, --json, and
--dry-run/--yes when the provider makes (and bills for) machines. So a field added to an
options model is a flag at once, and a plugin's command is as complete as a built-in one.

Fields may carry flag metadata in `json_schema_extra`: "short" (e.g. "-i"), "envvar", and
"default_help" (what a None default means, or a default computed at run time).

Nothing here is imported for `isaacctl --help`, and `deploy --help` lists providers from the
entry points without importing them: a provider module (and pydantic) is loaded only for the
`deploy <provider>` that runs."""

import inspect
import types
import typing
from typing import Any, Optional

import click
import typer
from typer.core import TyperGroup

NAME_HELP = "Deployment name: a lowercase letter, then letters, digits or hyphens (max 32)."
# Python names of the command's own parameters; option fields get a prefix so that a field
# can never shadow one of them.
FIELD_PREFIX = "option_"
# Flags every deploy command has: a provider field of the same name would be unreachable.
RESERVED = {
    "name",
    "json",
    "dry_run",
    "yes",
    "help",
    "skip_bootstrap",
    "image",
    "gpus",
    "ngc_api_key_file",
    "registry",
    "registry_user",
    "allow_unsupported_gpu",
    "allow_low_disk",
    "reach_timeout",
    "prewarm",
    "autostop",
    "autostop_action",
    "autostop_command",
    "max_cost",
    "max_hours",
}


def flag_of(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _extra(field: Any) -> dict[str, Any]:
    extra = field.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _base(annotation: Any) -> Any:
    """The type a flag parses: `int | None` -> int; a union of several types -> str."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _help(field: Any, default: Any) -> str:
    text = (field.description or "").strip()
    text = text[:1].upper() + text[1:]
    extra = _extra(field)
    shown = extra.get("default_help")
    if shown is None and default is not None and default is not False:
        shown = default
    if shown is not None and shown != "":
        text = f"{text} [default: {shown}]".strip()
    return text if text.endswith(".") or not text else text + "."


def field_option(python_name: str, field_name: str, field: Any) -> inspect.Parameter:
    """One keyword parameter, in typer's terms, for one options field."""
    from pydantic_core import PydanticUndefined

    extra = _extra(field)
    flag = flag_of(field_name)
    short = [extra["short"]] if extra.get("short") else []
    envvar = extra.get("envvar")
    plain_default = None if field.default is PydanticUndefined or field.default_factory is not None else field.default
    help_text = _help(field, plain_default)
    kind = _base(field.annotation)
    if kind is bool:
        if plain_default is True:
            option = typer.Option(True, f"{flag}/--no-{field_name.replace('_', '-')}", help=help_text, envvar=envvar)
        else:
            option = typer.Option(False, flag, *short, help=help_text, envvar=envvar)
        return inspect.Parameter(python_name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=bool)
    choices = None
    if typing.get_origin(kind) is typing.Literal:
        choices = click.Choice([str(value) for value in typing.get_args(kind)])
        kind = str
    elif kind not in (int, float):
        kind = str
    # Left out, a flag is not passed at all: the model's own default (and default_factory) applies.
    default = ... if field.is_required() else None
    option = typer.Option(default, flag, *short, help=help_text, envvar=envvar, click_type=choices, show_default=False)
    annotation = kind if field.is_required() else Optional[kind]
    return inspect.Parameter(python_name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


def _ordered(model: Any) -> list[tuple[str, Any]]:
    """The provider's own fields first, then those every provider shares (--host-dir, --nodes)."""
    from isaacctl.providers.options import HostOptions

    shared = HostOptions.model_fields
    items = list(model.model_fields.items())
    return [item for item in items if item[0] not in shared] + [item for item in items if item[0] in shared]


def _description(provider_class: type) -> str:
    """One paragraph: the provider's `description`, else its own docstring, else its summary."""
    # The class's own, not inherited: a plugin subclassing a built-in provider must not show
    # the built-in's text (nor, below, its examples naming another provider).
    text = provider_class.__dict__.get("description") or provider_class.__dict__.get("__doc__")
    if not text:
        summary = str(getattr(provider_class, "summary", provider_class.__name__))
        text = summary[:1].upper() + summary[1:] + "."
    return inspect.cleandoc(text)


def _examples(provider_name: str, provider_class: type, required: list[str]) -> list[str]:
    examples = list(provider_class.__dict__.get("examples") or ())
    if not examples:
        given = "".join(f" {flag_of(field)} {field.upper()}" for field in required)
        examples = [f"isaacctl deploy {provider_name} --name ws1{given}"]
    return examples


def help_text(provider_name: str, provider_class: type, required: list[str]) -> str:
    examples = _examples(provider_name, provider_class, required)
    lines = [f"Example:  {examples[0]}", *(f"          {line}" for line in examples[1:])]
    # \b keeps click from re-flowing the example lines into one paragraph.
    return _description(provider_class) + "\n\n\b\n" + "\n".join(lines)


def deploy_command(provider_name: str) -> click.Command | None:
    """The `deploy <provider_name>` command, or None when no such provider is installed."""
    from isaacctl.providers.registry import get_provider, provider_names

    if provider_name not in provider_names():
        return None
    from isaacctl.cli import bootstrap as bootstrap_options
    from isaacctl.errors import IsaacctlError

    provider = get_provider(provider_name, sdk=False)  # help and flags need no SDK; running does
    model = provider.options_model
    owns_machines = provider.capabilities.owns_machines
    KW = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter("deploy_name", KW, default=typer.Option(..., "--name", "-n", help=NAME_HELP), annotation=str),
    ]
    fields: dict[str, Any] = {}
    for field_name, field in _ordered(model):
        if field_name in RESERVED:
            raise IsaacctlError(
                f"provider {provider_name!r}: its option {field_name!r} clashes with the deploy flag "
                f"{flag_of(field_name)}; the provider must rename it"
            )
        fields[FIELD_PREFIX + field_name] = field
        params.append(field_option(FIELD_PREFIX + field_name, field_name, field))
    json_help = (
        "Print the deployment (or, with --dry-run, the plan) as JSON."
        if owns_machines
        else "Print the deployment as JSON."
    )
    params.append(
        inspect.Parameter("as_json", KW, default=typer.Option(False, "--json", help=json_help), annotation=bool)
    )
    if owns_machines:
        params += [
            inspect.Parameter(
                "dry_run",
                KW,
                annotation=bool,
                default=typer.Option(False, "--dry-run", help="Show the plan and its price, make nothing."),
            ),
            inspect.Parameter(
                "yes",
                KW,
                annotation=bool,
                default=typer.Option(False, "--yes", "-y", help="Do not ask before making billable resources."),
            ),
        ]
    params.append(inspect.Parameter("bootstrap", KW, default=None, annotation=Optional[dict]))

    def callback(ctx: typer.Context, **values: Any) -> None:
        from isaacctl.cli.deploy import run_deploy

        options = {}
        for python_name, field in fields.items():
            value = values[python_name]
            # A flag equal to its default is left out, so that options stored with a deployment
            # stay those the user chose (and the model's validation decides the rest).
            if value is None or (field.annotation is bool and value == field.default):
                continue
            options[python_name.removeprefix(FIELD_PREFIX)] = value
        run_deploy(
            ctx,
            provider_name,
            values["deploy_name"],
            options,
            values["as_json"],
            values["bootstrap"],
            dry_run=values.get("dry_run", False),
            yes=values.get("yes", False),
        )

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command = bootstrap_options.with_bootstrap_flags(callback)
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    single = typer.Typer(rich_markup_mode=None, add_completion=False)
    single.command(provider_name, help=help_text(provider_name, type(provider), required))(command)
    built = typer.main.get_command(single)
    built.name = provider_name
    return built


def _origins() -> list[tuple[str, str]]:
    from importlib.metadata import entry_points

    from isaacctl.providers.registry import GROUP

    rows = {}
    for entry in entry_points(group=GROUP):
        dist = getattr(entry, "dist", None)
        name = dist.metadata["Name"] if dist is not None else None
        origin = "built in" if dist is None or name in (None, "isaacctl") else f"from {name} {dist.version}"
        rows[entry.name] = f"{origin}; 'isaacctl deploy {entry.name} --help' for its flags"
    return sorted(rows.items())


class DeployGroup(TyperGroup):
    """`deploy`: one sub-command per installed provider, built only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from isaacctl.providers.registry import provider_names

        return provider_names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return deploy_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Names and where each provider comes from, read from the entry points: listing them
        imports no provider."""
        rows = _origins()
        if rows:
            with formatter.section("Providers"):
                formatter.write_dl(rows)
