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
from service.reports.cli import person
from service.volunteers import exports, queries, registry, roster

volunteers_group = click.Group("volunteers", help="Import and export the volunteer roster.")
SHOWN_BAD_ROWS = 50


@volunteers_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-bad", is_flag=True, help="Import the good rows and leave out the bad ones.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write every bad row (line, column, reason) to this CSV file.")
@with_appcontext
def import_roster(path: str, skip_bad: bool, report_path: str | None) -> None:
    """Import a roster (CSV or XLSX); idempotent by phone. Nothing is written if a row is bad, unless --skip-bad."""
    try:
        rows = roster.read_rows(path)
    except roster.RosterError as e:
        raise click.ClickException(str(e)) from e
    committees = set(registry.current_committees())
    with click.progressbar(length=len(rows), label=_("校验花名册"), file=sys.stderr) as bar:
        good, bad = roster.validate(rows, committees, bar.update)
    if bad and not skip_bad:
        refuse_rows(bad, report_path)
    with click.progressbar(length=len(good), label=_("写入数据库"), file=sys.stderr) as bar:
        taken = registry.stage_roster(good, bar.update)
    staff = [roster.BadRow(line, roster.HEADERS["phone"], _("该手机号已是工作人员账号，不能登记为志愿者；"
                                                          "请核对手机号。")) for line in taken]
    result, bad = upsert_or_refuse(bad, staff, skip_bad, report_path, lambda: registry.upsert_staged(len(good), taken))
    click.echo(_("导入完成：新增 %(i)d 人，更新 %(u)d 人，未变 %(n)d 人，跳过错误行 %(b)d 行。",
                 i=result.inserted, u=result.updated, n=result.unchanged, b=len({b.line for b in bad})))


def upsert_or_refuse(bad: list[roster.BadRow], late: list[roster.BadRow], skip_bad: bool, report_path: str | None,
                     upsert):
    """After staging: refuse the import if the database found bad rows (late), else upsert, commit and show
    every bad row left out; return upsert()'s result and all the bad rows."""
    if late and not skip_bad:
        db.session.rollback()
        refuse_rows(bad + late, report_path)
    result = upsert()
    db.session.commit()
    bad = bad + late
    if bad:
        show_problems(bad, report_path)
    return result, bad


def refuse_rows(bad: list[roster.BadRow], report_path: str | None) -> None:
    """Show the bad rows, say that nothing was imported, and exit with status 1."""
    show_problems(bad, report_path)
    click.echo(_("未导入任何数据：请改正以上 %(n)d 行后重新导入，或加 --skip-bad 只导入正确的行。",
                 n=len({b.line for b in bad})), err=True)
    sys.exit(1)


def show_problems(bad: list[roster.BadRow], report_path: str | None) -> None:
    """Print the first bad rows in line order, and save all of them to report_path when given."""
    bad = sorted(bad, key=lambda b: b.line)
    for b in bad[:SHOWN_BAD_ROWS]:
        click.echo(_("第 %(line)d 行，“%(col)s”列：%(reason)s", line=b.line, col=b.column, reason=b.reason), err=True)
    if len(bad) > SHOWN_BAD_ROWS:
        click.echo(_("……另有 %(n)d 处问题未显示，用 --report 文件名 保存全部问题。", n=len(bad) - SHOWN_BAD_ROWS),
                   err=True)
    if report_path:
        roster.write_problems(report_path, bad)


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
