"""`isaacctl deploy <provider>` for providers installed by third parties: the command is built
from the provider's `options_model` when it is asked for, so a plugin registered under the
`isaacctl.providers` entry-point group gets a deploy command without touching isaacctl.
Built-in providers keep their hand-written commands (better help, shared bootstrap flags)."""

import typing
from typing import Any

import click
from typer.core import TyperGroup

BUILT_IN = ("local", "ssh", "aws")


def _click_type(annotation: Any) -> tuple[Any, bool]:
    """(click type, is a flag) for a pydantic field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args and typing.get_origin(annotation) is not None else annotation
    if base is bool:
        return bool, True
    if base in (int, float):
        return base, False
    return str, False


def plugin_command(provider_name: str) -> click.Command | None:
    from isaacctl.providers.registry import provider_names

    if provider_name not in provider_names():
        return None
    from isaacctl.providers.registry import get_provider

    provider = get_provider(provider_name)
    params: list[click.Parameter] = [
        click.Option(["--name", "-n"], required=True, help="Deployment name."),
        click.Option(["--skip-bootstrap"], is_flag=True, help="Only create or adopt the host."),
        click.Option(["--image"], default=None, help="Isaac Lab container image."),
        click.Option(["--gpus"], default=None, help="'all' or 'none'."),
        click.Option(["--ngc-api-key-file", "key_file"], default=None, type=click.Path(), help="NGC API key file."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the deployment as JSON."),
        click.Option(["--yes", "-y"], is_flag=True, help="Do not ask before making billable resources."),
        click.Option(["--dry-run"], is_flag=True, help="Show the plan, make nothing."),
    ]
    fields = provider.options_model.model_fields
    for field_name, field in fields.items():
        kind, is_flag = _click_type(field.annotation)
        params.append(click.Option(
            ["--" + field_name.replace("_", "-"), field_name], type=None if is_flag else kind,
            is_flag=is_flag, default=None, required=False, help=field.description or field_name,
        ))

    @click.pass_context
    def callback(ctx: click.Context, name: str, skip_bootstrap: bool, image: str | None, gpus: str | None,
                 key_file: str | None, as_json: bool, yes: bool, dry_run: bool, **options: Any) -> None:
        from pathlib import Path

        from isaacctl.cli.deploy import run_deploy

        flags = dict(skip_bootstrap=skip_bootstrap, image=image, gpus=gpus,
                     key_file=Path(key_file) if key_file else None, registry_user=None,
                     allow_unsupported_gpu=False, allow_low_disk=False, reach_timeout=600.0)
        run_deploy(ctx, provider_name, name, options, as_json, flags, dry_run=dry_run, yes=yes)

    return click.Command(
        provider_name, params=params, callback=callback,
        help=f"{provider.summary} (a plugin provider).\n\n\b\nExample:  isaacctl deploy {provider_name} --name ws1 ...",
    )


class DeployGroup(TyperGroup):
    """typer's group, plus commands for plugin providers, found only when asked for."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name in BUILT_IN:
            return found
        return plugin_command(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        from isaacctl.providers.registry import provider_names

        known = super().list_commands(ctx)
        return known + [name for name in provider_names() if name not in known]
