"""hazard-snap bodies: the registry of bodies outside the programme (add, list, disable).

An Open311 body's api_key is read from a hidden prompt (or standard input), never from the command line, where
the shell history and `ps` would keep it; after `add` it is shown by nothing.
"""
from pathlib import Path

import click
from flask.cli import with_appcontext

from service.bodies import registry
from service.bodies.models import CHANNELS, KINDS, SYNC_VIA
from service.core.errors import ApiError

bodies_group = click.Group("bodies", help="Bodies outside the programme that reports can be handed to (转派).")


@bodies_group.command("add")
@click.option("--name", required=True, help="The body's name, e.g. '闵行燃气有限公司'.")
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--channel", type=click.Choice(CHANNELS), required=True)
@click.option("--endpoint", required=True, help="Open311 base URL (…/open311/v2), webhook URL or e-mail address.")
@click.option("--categories", required=True, help="Category codes it takes, comma-separated.")
@click.option("--areas", "area_codes", default="", help="Town or committee codes it serves, comma-separated.")
@click.option("--outline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A GeoJSON Polygon or MultiPolygon (WGS-84) of its own area, e.g. a complex.")
@click.option("--jurisdiction", "jurisdiction_id", help="The body's Open311 jurisdiction_id.")
@click.option("--sign-hours", type=int, default=24, show_default=True, help="Hours to sign for (签收).")
@click.option("--finish-hours", type=int, default=168, show_default=True, help="Hours to finish.")
@click.option("--service-code", "service_codes", multiple=True, metavar="CATEGORY=CODE",
              help="Open311: the body's own service_code for one of our categories (repeat it); "
                   "a category without one is sent as its own code.")
@click.option("--sync-via", type=click.Choice(SYNC_VIA), default="updates", show_default=True,
              help="Open311: read the body's answers from servicerequestupdates.json, or from requests.json "
                   "when its server has no updates endpoint.")
@with_appcontext
def bodies_add(name, kind, channel, endpoint, categories, area_codes, outline, jurisdiction_id, sign_hours,
               finish_hours, service_codes, sync_via) -> None:
    """Register a body; an Open311 body's api_key is asked for (hidden)."""
    key = click.prompt("api_key", hide_input=True) if channel == "open311" else None
    try:
        body = registry.add(name=name, kind=kind, channel=channel, endpoint=endpoint,
                            categories=registry.split(categories), area_codes=registry.split(area_codes),
                            outline=outline.read_text(encoding="utf-8") if outline else None,
                            jurisdiction_id=jurisdiction_id, credential=key, sign_hours=sign_hours,
                            finish_hours=finish_hours, service_codes=service_codes, sync_via=sync_via)
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"added body {body.id}: {body.name} ({body.kind}, {body.channel})")


@bodies_group.command("list")
@click.option("--all", "include_disabled", is_flag=True, help="Disabled bodies too.")
@with_appcontext
def bodies_list(include_disabled: bool) -> None:
    """List the bodies: id, state, kind, channel, endpoint, areas, categories, their service codes, deadlines,
    name (never a key)."""
    after = 0
    while page := registry.listed(include_disabled, after_id=after):
        for body in page:
            d = registry.describe(body)
            areas = ",".join(d["area_codes"]) + ("+outline" if d["has_outline"] else "")
            codes = ",".join(f"{k}={v}" for k, v in sorted(d["service_codes"].items()))
            click.echo(f"{d['id']}\t{'active' if d['active'] else 'disabled'}\t{d['kind']}\t{d['channel']}\t"
                       f"{d['endpoint']}\t{areas}\t{','.join(d['categories'])}\t{codes or '-'}\t"
                       f"{d['sign_hours']}h/{d['finish_hours']}h\t{d['name']}")
        after = page[-1].id


@bodies_group.command("disable")
@click.argument("body_id", type=int)
@with_appcontext
def bodies_disable(body_id: int) -> None:
    """Stop suggesting and delivering to a body; its past transfers stay."""
    try:
        body = registry.disable(body_id)
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"disabled body {body.id}: {body.name}")


@bodies_group.command("sync")
@with_appcontext
def bodies_sync() -> None:
    """Fetch the Open311 bodies' updates and apply them once each, then escalate the bodies' missed deadlines
    to the town (cron; safe on several nodes)."""
    from service.bodies import deadlines, sync

    for body_id, result in sync.sync_all().items():
        click.echo(f"body {body_id}: {result}")
    click.echo(f"escalated {deadlines.escalate()} transfer(s) past a body's deadline")


COMMANDS = (bodies_group,)
