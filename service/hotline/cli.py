"""hazard-snap hotline: the 12345 hotline's orders (import a batch file, a key for its Open311 side, escalate)."""
import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from geo.coords import CRS_NAMES
from service.core import sheets
from service.core.errors import ApiError
from service.hotline import keys, orderfile, orders, signing
from service.web.commands import refuse_rows, show_problems

hotline_group = click.Group("hotline", help="The 12345 hotline's work orders (工单).")


def _hotline(name: str):
    try:
        return orders.hotline_named(name)
    except ApiError as e:
        raise click.ClickException(e.message) from None


@hotline_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--hotline", "name", required=True, help="The hotline body's name (bodies add --kind hotline).")
@click.option("--crs", type=click.Choice(CRS_NAMES), default="gcj02", show_default=True,
              help="Coordinates of the file: gcj02 (the city's platforms), wgs84 (GPS) or bd09 (Baidu).")
@click.option("--skip-bad", is_flag=True, help="Take the good rows and leave out the bad ones.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write every bad row (line, column, reason) to this CSV file.")
@with_appcontext
def hotline_import(path: str, name: str, crs: str, skip_bad: bool, report_path: str | None) -> None:
    """Take a batch file of orders (CSV or XLSX); idempotent by order number. Nothing is taken if a row is bad,
    unless --skip-bad."""
    body = _hotline(name)
    try:
        rows = orderfile.read_rows(path)
    except sheets.SheetError as e:
        raise click.ClickException(str(e)) from e
    good, bad = orderfile.validate(rows, crs)
    if bad and not skip_bad:
        refuse_rows(bad, report_path)
    created = found = 0
    for line, order_no, form, sign_by, reply_by in good:
        try:
            _report, new = orders.take(body, order_no, form, sign_by, reply_by)
        except ApiError as e:  # what only the database could tell (a deadline order, a race): that row alone
            bad.append(sheets.BadRow(line, orderfile.HEADERS["order_no"], e.message))
            continue
        created, found = created + new, found + (not new)
    if bad:
        show_problems(bad, report_path)
    click.echo(_("导入完成：新工单 %(c)d 条，已有工单 %(f)d 条，跳过错误行 %(b)d 行。",
                 c=created, f=found, b=len({b.line for b in bad})))


@hotline_group.command("key")
@click.option("--hotline", "name", required=True, help="The hotline body's name.")
@click.option("--days", type=click.IntRange(1, 3650), help="Lifetime in days  [default: API_TOKEN_DAYS, 90]")
@with_appcontext
def hotline_key(name: str, days: int | None) -> None:
    """Issue the hotline's Open311 api_key (printed once): it creates and reads that hotline's orders only."""
    user, key = keys.issue(_hotline(name), days)
    click.echo(f"api key for hotline {name} (account {user.id}); revoke with: hazard-snap apikeys revoke {user.id}")
    click.echo(f"api_key: {key}")


@hotline_group.command("escalate")
@with_appcontext
def hotline_escalate() -> None:
    """Escalate the orders nobody signed for (签收) by their deadline to the town, once each (cron)."""
    click.echo(f"escalated {signing.escalate()} order(s) past their sign-for deadline")


COMMANDS = (hotline_group,)
