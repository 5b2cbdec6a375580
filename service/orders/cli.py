"""`hazard-snap orders ...`: the service orders' background work (run from cron)."""
import click
from flask.cli import with_appcontext

from service.orders import escalation

orders_group = click.Group("orders", help="三单 service orders.")


@orders_group.command("escalate")
@with_appcontext
def escalate() -> None:
    """Return orders nobody accepted in ORDER_ACCEPT_WITHIN_H to the dispatcher (safe to run repeatedly)."""
    counts = escalation.escalate()
    click.echo(f"orders with expired offers: {counts['orders']}, returned to the dispatcher: {counts['returned']}")


COMMANDS = (orders_group,)
