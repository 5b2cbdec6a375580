"""`hazard-snap sites ...`: import the key-site registry."""

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from geo.coords import CRS_NAMES
from service.core.sheets import BadRow
from service.sites import registry, sitefile
from service.web.commands import import_rows

sites_group = click.Group("sites", help="Import the key-site registry.")


@sites_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", type=click.Choice(CRS_NAMES), default="wgs84", show_default=True,
              help="Coordinates of the file: wgs84 (GPS), gcj02 (AMap/Gaode) or bd09 (Baidu).")
@click.option("--skip-bad", is_flag=True, help="Import the good rows and leave out the bad ones.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write every bad row (line, column, reason) to this CSV file.")
@with_appcontext
def import_sites(path: str, crs: str, skip_bad: bool, report_path: str | None) -> None:
    """Import sites (GeoJSON, CSV or XLSX); idempotent by external id. Nothing is written if a row is bad
    (a site outside the district is bad), unless --skip-bad."""
    def far(outside):
        return [BadRow(line, sitefile.HEADERS["geometry"], _("该场所不在本区范围内，请核对坐标和坐标系（--crs）。"))
                for line in outside]

    result, bad = import_rows(lambda: sitefile.read_rows(path), lambda rows, step: sitefile.validate(rows, crs, step),
                              registry.stage, far, registry.upsert_staged, _("校验场所"), skip_bad, report_path)
    click.echo(_("导入完成：新增 %(i)d 个，更新 %(u)d 个，未变 %(n)d 个，跳过错误行 %(b)d 行。",
                 i=result.inserted, u=result.updated, n=result.unchanged, b=len({b.line for b in bad})))


COMMANDS = (sites_group,)
