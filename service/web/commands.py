"""What every area's commands share: the --area and --as options' lookups, and importing a file's rows (read,
checked, staged, upserted) or refusing them with the bad ones shown (and saved with --report)."""
import sys
from collections.abc import Callable

import click
from flask_babel import gettext as _
from sqlalchemy import select

from service.areas import boundaries
from service.core import sheets
from service.core.db import db
from service.core.models import Area, User

SHOWN_BAD_ROWS = 50


def area_option(code: str | None) -> Area | None:
    """The area an --area option names, or a clear error."""
    if not code:
        return None
    area = boundaries.latest(code)
    if area is None:
        raise click.ClickException(f"no area with code {code}")
    return area


def person(phone: str) -> User:
    """The active account an `--as PHONE` option names, or a clear error."""
    user = db.session.scalar(select(User).where(User.phone == phone))
    if user is None or not user.active:
        raise click.ClickException(_("找不到手机号为 %(phone)s 的在用账号。", phone=phone))
    return user


def upsert_or_refuse(bad: list[sheets.BadRow], late: list[sheets.BadRow], skip_bad: bool, report_path: str | None,
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


def refuse_rows(bad: list[sheets.BadRow], report_path: str | None) -> None:
    """Show the bad rows, say that nothing was imported, and exit with status 1."""
    show_problems(bad, report_path)
    click.echo(_("未导入任何数据：请改正以上 %(n)d 行后重新导入，或加 --skip-bad 只导入正确的行。",
                 n=len({b.line for b in bad})), err=True)
    sys.exit(1)


def show_problems(bad: list[sheets.BadRow], report_path: str | None) -> None:
    """Print the first bad rows in line order, and save all of them to report_path when given."""
    bad = sorted(bad, key=lambda b: b.line)
    for b in bad[:SHOWN_BAD_ROWS]:
        click.echo(_("第 %(line)d 行，“%(col)s”列：%(reason)s", line=b.line, col=b.column, reason=b.reason), err=True)
    if len(bad) > SHOWN_BAD_ROWS:
        click.echo(_("……另有 %(n)d 处问题未显示，用 --report 文件名 保存全部问题。", n=len(bad) - SHOWN_BAD_ROWS),
                   err=True)
    if report_path:
        sheets.write_problems(report_path, bad)


def import_rows(read: Callable, validate: Callable, stage: Callable, late: Callable, upsert: Callable, label: str,
                skip_bad: bool, report_path: str | None):
    """The flow of every file import: read() the file (its SheetError is the command's error), validate(rows,
    progress) each row, refuse or stage(good, progress) them, turn what staging found into bad rows with
    late(staged), then upsert(count, staged) and commit; return upsert()'s result and all the bad rows."""
    try:
        rows = read()
    except sheets.SheetError as e:
        raise click.ClickException(str(e)) from e
    with click.progressbar(length=len(rows), label=label, file=sys.stderr) as bar:
        good, bad = validate(rows, bar.update)
    if bad and not skip_bad:
        refuse_rows(bad, report_path)
    with click.progressbar(length=len(good), label=_("写入数据库"), file=sys.stderr) as bar:
        staged = stage(good, bar.update)
    return upsert_or_refuse(bad, late(staged), skip_bad, report_path, lambda: upsert(len(good), staged))
