"""The dashboard's commands: `hazard-snap report monthly`, the monthly report (月度通报) as a PDF or XLSX file."""
import os
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from service.core.errors import ApiError
from service.core.models import User
from service.dashboard import monthly_render
from service.web.commands import person

report_group = click.Group("report", help="The district's reports: the monthly report (月度通报).")


@report_group.command("monthly")
@click.option("--month", required=True, metavar="YYYY-MM", help="the local calendar month")
@click.option("--town", default="", metavar="CODE", help="one town's report (its committees ranked)")
@click.option("--out", "path", required=True, type=click.Path(dir_okay=False), help="FILE.pdf or FILE.xlsx")
@click.option("--as", "phone", metavar="PHONE", help="in the scope of the person with this phone, named as its maker")
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
@with_appcontext
def monthly_cmd(month: str, town: str, path: str, phone: str | None, lang: str) -> None:
    """Write the monthly report of MONTH to FILE (.pdf or .xlsx).

    Without --as it covers the whole district (the command line has no user) and names the command line as its
    maker. Nothing is written unless the whole report is: a bad month or town leaves no file.
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in monthly_render.MEDIA_TYPES:
        raise click.ClickException(_("只支持 .pdf 或 .xlsx 文件，请换一个文件名后重试。"))
    # The page's language switch, and url_for for the figures' links, need a request: a made-up one.
    with current_app.test_request_context("/", query_string={"lang": lang}):
        user = person(phone) if phone else User(name=_("hazard-snap 命令行（全区）"), role="district_admin")
        try:
            data, body = monthly_render.make(user, month, town, fmt)
        except ApiError as e:
            raise click.ClickException(e.message) from e
        target = Path(path)
        fd, temp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.replace(temp, target)
        places = (_("%(n)d 个街镇", n=len(data["ranking"])) if data["level"] == "town"
                  else _("%(n)d 个居村委", n=len(data["ranking"])))
        click.echo(_("已生成 %(month)s 月度通报：%(path)s（%(places)s）", month=data["month"], path=path,
                     places=places))


COMMANDS = (report_group,)
