"""Report exports (CSV, GeoJSON, XLSX): one streamed row query under the list's scope and filters, the reports'
table of cells, and the writers of service/core/sheets.py.

The reports' CSV and GeoJSON are written by PostgreSQL itself (reports/copy_export.py); Python rows remain for the
XLSX.

The last column is the resident's contact, filled only in the rows the caller may read it in (the `contacts`
condition, scope.report_contact: staff, never volunteers; the command line passes none, so its files hold no
contact). An export that shows any is written to the access log by its view (service/privacy/access.py), with
contacts_shown() as its count.
"""
from collections.abc import Iterable, Iterator

from flask import Response
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, Text, case, cast, func, null, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from service.core import sheets
from service.core.db import db
from service.core.models import Area, Report
from service.core.sheets import Labels, Table, neutralise, stream
from service.reports.filters import ReportFilter

HEADERS = (_l("编号"), _l("上报时间"), _l("状态"), _l("隐患类别"), _l("子类"), _l("风险等级"), _l("描述"),
           _l("详细地址"), _l("居村委代码"), _l("居村委"), _l("街镇代码"), _l("街镇名称"), _l("经度"), _l("纬度"),
           _l("整改期限"), _l("整改完成时间"), _l("上报人联系方式"))


def select_rows(visible: ColumnElement, filt: ReportFilter, contacts: ColumnElement | None = None) -> Select:
    """The export's columns, newest first: only what is written, committee and town names joined in SQL; the
    contact where `contacts` holds (module docstring), else empty."""
    committee, town = aliased(Area), aliased(Area)
    contact = cast(null(), Text) if contacts is None else case((contacts, Report.contact))
    # The id as text: PostgreSQL prints it faster than Python builds and prints a UUID object.
    return (select(Report.id.cast(String).label("id"), Report.created_at, Report.status, Report.category,
                   Report.subcategory, Report.risk_level, Report.description, Report.address,
                   committee.code.label("committee_code"), committee.name.label("committee_name"),
                   town.code.label("town_code"), town.name.label("town_name"),
                   func.ST_X(Report.location).label("lon"), func.ST_Y(Report.location).label("lat"),
                   Report.due_at, Report.rectified_at, contact.label("contact"))
            .join(committee, committee.id == Report.committee_id).join(town, town.id == Report.town_id)
            .where(visible, *filt.conditions())
            .order_by(Report.created_at.desc(), Report.id.desc()))


def rows(visible: ColumnElement, filt: ReportFilter, contacts: ColumnElement | None = None) -> Iterator[Row]:
    """Yield the matching rows through a server-side cursor, sheets.BATCH at a time (scope is the caller's, always)."""
    return stream(select_rows(visible, filt, contacts))


def contacts_shown(visible: ColumnElement, filt: ReportFilter, contacts: ColumnElement) -> int:
    """How many of the matching rows an export would show a contact in, counted in SQL (for the access log)."""
    return db.session.scalar(select(func.count()).select_from(Report).where(
        visible, contacts, Report.contact.is_not(None), *filt.conditions()))


def sheet_row(row: Row, labels: Labels) -> list:
    """One report as a spreadsheet row, in HEADERS order, each cell neutralised."""
    rid, created, status, category, sub, risk, description, address, *areas, lon, lat, due, rectified, contact = row
    return neutralise((rid, labels.when(created), *labels.of(status, category, sub, risk), description or "",
                       address or "", *areas, round(lon, 7), round(lat, 7), labels.when(due), labels.when(rectified),
                       contact or ""))


REPORTS = Table(HEADERS, sheet_row, _l("隐患上报"))
STEM = "hazard-reports"


def write_file(fmt: str, found: Iterable[Row], path: str) -> int:
    """Write a reports export to a file; return how many rows it holds."""
    return sheets.write_file(fmt, found, path, REPORTS)


def download(fmt: str, found: Iterable[Row]) -> Response:
    """A reports export as an HTTP download."""
    return sheets.download(fmt, found, REPORTS, STEM)
