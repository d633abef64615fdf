"""`stop`, `start`, `check`, `gc`: lifecycle of workstations a cloud provider made."""

from typing import List, Optional

import typer

from isaacctl.cli.context import app_of, complete_deployment, confirm_or_refuse

JSON_HELP = "Print JSON (a versioned envelope) instead of text."


def _lifecycle(ctx: typer.Context, progress=None):
    from isaacctl.services.lifecycle import LifecycleService

    return LifecycleService(app_of(ctx).store, progress)


def stop_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop a cloud workstation: compute billing stops, the disk (and its bill) stays, running
    jobs end. 'isaacctl start' brings it back.

    \b
    Example:  isaacctl stop ws1 --yes
    """
    from isaacctl.cli.render_cloud import render_power

    app = app_of(ctx)
    record = app.store.load(name)  # a missing name fails here, before asking
    confirm_or_refuse(app, yes, "stop", f"Stop {record.provider} deployment {name!r}? Running jobs end.")
    with app.terminal.spinner(f"stopping {name}") as progress:
        result = _lifecycle(ctx, progress).stop(name)
    render_power(app.terminal, result, as_json)


def start_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Start a stopped cloud workstation and wait until SSH answers. Its address may change;
    its pinned host key does not.

    \b
    Example:  isaacctl start ws1
    """
    from isaacctl.cli.render_cloud import render_power

    app = app_of(ctx)
    with app.terminal.spinner(f"starting {name}") as progress:
        result = _lifecycle(ctx, progress).start(name)
    render_power(app.terminal, result, as_json)


def _check(
    ctx: typer.Context,
    provider: Optional[str] = typer.Argument(None, help="Provider to check [default: every cloud provider installed]."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    scope: Optional[dict] = None,  # the providers' scope flags, see with_scope_flags
) -> None:
    """Check that cloud credentials work, and say whose they are.

    \b
    Example:  isaacctl check aws --profile research
    """
    from isaacctl.cli.render_cloud import render_check

    app = app_of(ctx)
    results = _lifecycle(ctx).check(provider, scope)
    render_check(app.terminal, results, as_json)
    if not all(result.check.ok for result in results):
        raise typer.Exit(1)


def _gc(
    ctx: typer.Context,
    selectors: Optional[List[str]] = typer.Argument(
        None, metavar="[NAME|ID]...", help="Candidates to delete, by deployment name or id (as listed)."
    ),
    provider: Optional[str] = typer.Option(
        None, "--provider", help="Only this provider [default: every cloud provider]."
    ),
    everything: bool = typer.Option(False, "--all", help="Delete every candidate listed."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting what is selected."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    scope: Optional[dict] = None,  # the providers' scope flags, see with_scope_flags
) -> None:
    """List cloud resources isaacctl tagged that belong to no deployment in this state folder;
    delete the ones you name. Candidates are grouped by deployment (name and id) and show who
    made them and when: a deployment made from another machine or state folder is listed too,
    so read the list before deleting. Nothing is deleted unless named (or --all), and you are
    asked first unless --yes. Deleting goes by name and id: a deployment of the same name with
    another id (yours here, or a colleague's) is untouched.

    Looks in every --region given; by default in the provider's default region and every
    region this folder's deployments use.

    \b
    Example:  isaacctl gc
              isaacctl gc --provider aws --region us-east-1 --region eu-west-1
              isaacctl gc 3fa2c1d0 --yes
    """
    from isaacctl.cli.render_cloud import render_gc_deleted, render_gc_list, render_gc_selected

    app = app_of(ctx)
    service = _lifecycle(ctx)
    with app.terminal.spinner("looking for resources no deployment here owns") as progress:
        service.progress = progress
        report = service.gc_scan(provider, scope)
    if not selectors and not everything:
        render_gc_list(app.terminal, report, as_json)
        if yes and report.candidates:
            # --yes used to delete everything listed; now it only skips the question
            app.terminal.warning("--yes alone deletes nothing: name the candidates (or --all)")
        if report.errors:
            raise typer.Exit(1)
        return
    chosen = service.gc_select(report, selectors or [], everything)
    if not chosen:
        render_gc_list(app.terminal, report, as_json)
        raise typer.Exit(1 if report.errors else 0)
    render_gc_selected(app.terminal, chosen)
    confirm_or_refuse(app, yes, "delete cloud resources", f"Delete the resources of these {len(chosen)} deployment(s)?")
    with app.terminal.spinner("deleting") as progress:
        service.progress = progress
        service.gc_delete(chosen)
    render_gc_deleted(app.terminal, report, chosen, as_json)
    if report.errors or any(candidate.error for candidate in chosen):
        raise typer.Exit(1)


def _scope_fields() -> list[tuple[str, str, list[str]]]:
    """(field, description, providers) for every scope field of the installed providers."""
    from isaacctl.providers.registry import get_provider, provider_names

    found: dict[str, tuple[str, list[str]]] = {}
    for name in provider_names():
        try:
            provider = get_provider(name, sdk=False)
        except Exception:  # noqa: BLE001 - an extra not installed: it has no flags to offer
            continue
        for field_name in provider.scope_fields:
            model_field = provider.options_model.model_fields.get(field_name)
            description = (model_field.description if model_field is not None else None) or field_name
            found.setdefault(field_name, (description, []))[1].append(name)
    return [(field_name, description, providers) for field_name, (description, providers) in found.items()]


def with_scope_flags(command, repeatable: bool):
    """Gives `check` or `gc` one flag per scope field of the installed providers (--region,
    --profile, --project...), handed to the command as one dict argument `scope`."""
    import functools
    import inspect

    fields = _scope_fields()
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "scope"]
    added = []
    for field_name, description, providers in fields:
        text = description[:1].upper() + description[1:]
        if repeatable:
            default = "the provider's, and every one this folder's deployments use"
            text = f"{text} ({', '.join(providers)}); repeat to look in several [default: {default}]."
        else:
            text = f"{text} ({', '.join(providers)}) [default: the provider's]."
        option = typer.Option(None, "--" + field_name.replace("_", "-"), help=text)
        added.append(
            inspect.Parameter(
                "scope_" + field_name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option,
                annotation=Optional[List[str]] if repeatable else Optional[str],
            )
        )

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        scope = {name: kwargs.pop("scope_" + name) for name, _, _ in fields}
        return command(*args, scope=scope, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    return wrapper


def __getattr__(name: str):
    # check_command and gc_command are built when first asked for (cli/lazy.py), not when
    # stop or start import this module: their flags need every provider imported.
    if name == "check_command":
        return with_scope_flags(_check, repeatable=False)
    if name == "gc_command":
        return with_scope_flags(_gc, repeatable=True)
    raise AttributeError(name)
