"""Report housekeeping and exports: escalate overdue reports, export."""
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import true
from werkzeug.datastructures import MultiDict

from service.accounts import scope
from service.core import sheets
from service.core.errors import ApiError
from service.reports import copy_export, deadlines, exports, reassign
from service.reports.filters import ReportFilter
from service.web.commands import person


@click.command("escalate")
@with_appcontext
def escalate() -> None:
    """Escalate overdue reports to the town, then the district (safe to run repeatedly)."""
    counts = deadlines.escalate()
    click.echo(f"escalated to town: {counts['town']}, to district: {counts['district']}")


FILTERS = (("status", "open, closed, all, or status codes, comma-separated"),
           ("category", "category codes, comma-separated"), ("risk", "risk codes, comma-separated"),
           ("since", "first local day, YYYY-MM-DD"), ("until", "last local day, YYYY-MM-DD"),
           ("committee", "committee code"), ("town", "town code"), ("bbox", "minlon,minlat,maxlon,maxlat"))


def _filter_options(command):
    """The list's filters as options, read by the same ReportFilter.from_args as the API's query string."""
    for name, what in reversed(FILTERS):
        command = click.option(f"--{name}", default="", help=what)(command)
    return click.option("--overdue", is_flag=True, help="only overdue reports")(command)


def _visible(phone: str | None):
    """Everything without --as (the command line has no user); with it, that active person's scope."""
    return scope.visible(person(phone)) if phone else true()


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--as", "phone", metavar="PHONE", help="export only what the person with this phone may see")
@_filter_options
@with_appcontext
def export(path: str, phone: str | None, overdue: bool, **filters: str) -> None:
    """Export reports to PATH (.csv, .geojson or .xlsx) with the list's filters.

    Without --as it exports every report of the district (district scope: the command line has no user).
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in sheets.MEDIA_TYPES:
        raise click.ClickException(_("只支持 .csv、.geojson 或 .xlsx 文件，请换一个文件名后重试。"))
    try:
        filt = ReportFilter.from_args(MultiDict({**filters, "overdue": "1" if overdue else ""}))
    except ApiError as e:
        raise click.ClickException(e.message) from e
    count = exports.write_file(fmt, copy_export.reports(_visible(phone), filt), path)
    click.echo(_("已导出 %(n)d 条上报到 %(path)s。", n=count, path=path))


@click.command("reassign")
@click.option("--all", "every", is_flag=True, help="Re-evaluate every open report, not only the changed ground.")
@with_appcontext
def reassign_cmd(every: bool) -> None:
    """Re-assign the open reports that committee generations not yet re-assigned can move."""
    moves = reassign.reassign_now(every)
    click.echo(f"re-assigned {sum(m.n for m in moves)} open reports")


COMMANDS = (escalate, export, reassign_cmd)
