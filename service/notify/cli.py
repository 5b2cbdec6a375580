"""Delivery commands: where each area's notifications go, and the outbox worker."""
import time
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext

from service.notify import outbox
from service.web.commands import area_option

contacts_group = click.Group("contacts", help="Where each area's notifications go.")


@contacts_group.command("add")
@click.option("--area", "area_code", required=True)
@click.option("--webhook", help="A chat-robot webhook URL.")
@click.option("--email", help="An e-mail address.")
@with_appcontext
def contacts_add(area_code: str, webhook: str | None, email: str | None) -> None:
    """Send an area's notifications to a webhook or an e-mail address."""
    if bool(webhook) == bool(email):
        raise click.ClickException("give exactly one of --webhook or --email")
    channel, target = ("webhook", webhook) if webhook else ("email", email)
    if webhook and urlsplit(webhook).scheme.lower() not in ("http", "https"):
        raise click.ClickException("the webhook must be an http:// or https:// URL")
    outbox.add_contact(area_option(area_code), channel, target)
    click.echo(f"{area_code}: {channel} {target}")


@click.command("notify")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds with --loop.")
@with_appcontext
def notify_command(loop: bool, interval: float) -> None:
    """Deliver due notifications from the outbox."""
    while True:
        sent, failed = outbox.deliver_due()
        click.echo(f"sent {sent}, failed {failed} (will retry)")
        if not loop:
            return
        time.sleep(interval)


COMMANDS = (contacts_group, notify_command)
