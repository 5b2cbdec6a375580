"""`hazard-snap volunteers ...`: import and export the volunteer roster, export service hours."""
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import true

from service.core import sheets
from service.core.db import db
from service.core.errors import ApiError
from service.volunteers import exports, queries, registry, roster
from service.web.commands import import_rows, person

volunteers_group = click.Group("volunteers", help="Import and export the volunteer roster.")


@volunteers_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-bad", is_flag=True, help="Import the good rows and leave out the bad ones.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write every bad row (line, column, reason) to this CSV file.")
@with_appcontext
def import_roster(path: str, skip_bad: bool, report_path: str | None) -> None:
    """Import a roster (CSV or XLSX); idempotent by phone. Nothing is written if a row is bad, unless --skip-bad."""
    committees = set(registry.current_committees())

    def staff(taken):
        return [sheets.BadRow(line, roster.HEADERS["phone"], _("该手机号已是工作人员账号，不能登记为志愿者；"
                                                              "请核对手机号。")) for line in taken]

    def checked(rows, step):
        return roster.validate(rows, committees, step)

    result, bad = import_rows(lambda: roster.read_rows(path), checked, registry.stage_roster, staff,
                              registry.upsert_staged, _("校验花名册"), skip_bad, report_path)
    click.echo(_("导入完成：新增 %(i)d 人，更新 %(u)d 人，未变 %(n)d 人，跳过错误行 %(b)d 行。",
                 i=result.inserted, u=result.updated, n=result.unchanged, b=len({b.line for b in bad})))


@volunteers_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def export_roster(path: str) -> None:
    """Export the roster (CSV or XLSX) in the shape `volunteers import` reads."""
    if not path.lower().endswith((".csv", ".xlsx")):
        raise click.ClickException(_("只支持 .csv 或 .xlsx 文件，请另存为这两种格式之一后重试。"))
    total = db.session.scalar(registry.COUNT)
    result = db.session.execute(registry.EXPORT.execution_options(yield_per=2000))
    with click.progressbar(length=total, label=_("导出花名册"), file=sys.stderr) as bar:
        count = roster.write(path, (roster.export_row(phone, v) for phone, v in result), bar.update)
    click.echo(_("已导出 %(n)d 名志愿者到 %(path)s。", n=count, path=path))


@volunteers_group.command("hours-export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--team", default="", help="only this team (服务队)")
@click.option("--committee", default="", help="only volunteers of this committee (12-digit code)")
@click.option("--town", default="", help="only volunteers of this town's committees (9-digit code)")
@click.option("--from", "start", default="", help="first service date, YYYY-MM-DD")
@click.option("--to", "end", default="", help="last service date, YYYY-MM-DD")
@click.option("--as", "phone", metavar="PHONE", help="export only what the person with this phone may see")
@with_appcontext
def hours_export(path: str, phone: str | None, start: str, end: str, **filters: str) -> None:
    """Export approved service hours (.csv or .xlsx), one row per counted ledger entry.

    Without --as it exports the whole district (the command line has no user).
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in exports.FORMATS:
        raise click.ClickException(_("只支持 .csv 或 .xlsx 文件，请另存为这两种格式之一后重试。"))
    try:
        filt = exports.HourFilter.from_args(filters | {"from": start, "to": end})
    except ApiError as e:
        raise click.ClickException(e.message) from e
    visible = queries.visible(person(phone)) if phone else true()
    found = sheets.stream(exports.select_rows(visible, filt))
    count = sheets.write_file(fmt, found, path, exports.HOURS)
    click.echo(_("已导出 %(n)d 条服务时长记录到 %(path)s。", n=count, path=path))


COMMANDS = (volunteers_group,)
