"""The monthly report laid out: a PDF for paper (WeasyPrint over dashboard/monthly.html, A4, the Noto CJK fonts
embedded, page numbers) and its XLSX twin (openpyxl), both from the one dict monthly.build() makes.

Needs Debian's libpango (WeasyPrint's text layout) and fonts-noto-cjk: the Makefile's APT_RUN installs them.
"""
import base64
import io

from flask import Response, render_template
from flask_babel import gettext as _
from flask_babel import pgettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from service.core import clock, localtime
from service.dashboard import monthly, monthly_charts
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.roles import ROLE_LABELS
from service.rules.workflow import STATUS_LABELS

MEDIA_TYPES = {"pdf": "application/pdf",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def place_label(level: str) -> str:
    """The ranking's place column."""
    return pgettext("column", "街镇") if level == "town" else pgettext("column", "居村委")


def title(data: dict) -> str:
    return _("%(scope)s %(month)s 消防隐患随手拍月度通报", scope=data["scope_name"], month=data["month"])


def filename(data: dict, fmt: str) -> str:
    return f"monthly-{data['month']}{'-' + data['town'] if data['town'] else ''}.{fmt}"


def shown(kind: str, v) -> str:
    """A figure as printed: counts with thousands separators, rates in per cent, hours and stars with a decimal."""
    if v is None:
        return "—"
    if kind == "rate":
        return f"{v * 100:.1f}%"
    if kind in ("hours", "stars"):
        return f"{v:.1f}" if kind == "hours" else f"{v:.2f}"
    return f"{v:,}"


def change(kind: str, d) -> str:
    """The change from last month as printed: percentage points for rates."""
    if d is None:
        return "—"
    if kind == "rate":
        points = f"{d * 100:+.1f}"
        return _("%(d)s 个百分点", d=points)
    if kind in ("hours", "stars"):
        return f"{d:+.1f}" if kind == "hours" else f"{d:+.2f}"
    return f"{d:+,}"


def tone(figure: dict) -> str:
    """'good' or 'bad' for a change the figure's direction calls so (monthly._figure), else ''."""
    signed = (figure["delta"] or 0) * figure["better"]
    return "good" if signed > 0 else "bad" if signed < 0 else ""


def _charts(data: dict) -> list[dict]:
    rank_title = (_("各街镇按期整改率排名（%(month)s 新增隐患）", month=data["month"]) if data["level"] == "town"
                  else _("各居村委按期整改率排名（%(month)s 新增隐患）", month=data["month"]))
    trend_title = _("近 %(n)d 个月新增隐患与整改情况", n=len(data["trend"]))
    svgs = [(rank_title, monthly_charts.ranking(data["ranking"], rank_title, _("按期整改率"), _("逾期"))),
            (trend_title, monthly_charts.trend(data["trend"], trend_title, {
                "new": _("新增隐患"), "on_time": _("按期整改"), "late": _("逾期后整改"), "overdue": _("逾期未改")}))]
    return [{"title": t, "src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()}
            for t, svg in svgs]


def _names() -> dict:
    return {"categories": {k: str(c.name) for k, c in CATEGORIES.items()},
            "risks": {k: str(v) for k, v in RISK_LEVELS.items()},
            "statuses": {k: str(v) for k, v in STATUS_LABELS.items()}}


def html(data: dict) -> str:
    return render_template("dashboard/monthly.html", data=data, title=title(data), charts=_charts(data),
                           made_at=localtime.show(data["generated_at"]), role=role_label(data["made_by_role"]),
                           where=place_label(data["level"]), shown=shown, change=change, tone=tone, names=_names(),
                           localtime=localtime)


def pdf(data: dict) -> bytes:
    """The report as an A4 PDF (fonts embedded as subsets by WeasyPrint)."""
    from weasyprint import CSS, HTML  # imported when used: it loads Pango, which the rest of the service never needs

    return HTML(string=html(data)).write_pdf(stylesheets=[CSS(string=_page_numbers())])


def _css_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _page_numbers() -> str:
    """The footer's "page N of M" as a CSS rule: the translated words around WeasyPrint's page counters (built
    here, not in the template, where they would have to pass unescaped)."""
    words = _("第 %(page)s 页，共 %(pages)s 页", page="\0", pages="\1")
    before, _page, rest = words.partition("\0")
    middle, _pages, after = rest.partition("\1")
    return ("@page { @bottom-right { content: " + _css_text(before) + " counter(page) " + _css_text(middle)
            + " counter(pages) " + _css_text(after) + "; font-size: 8pt; color: #444; } }")


def xlsx(data: dict) -> bytes:
    """The same figures in a workbook: 概况 (key figures), 考核排名, 月度趋势, 最久逾期, 主题活动, 转派与热线."""
    book = Workbook()
    bold = Font(bold=True)
    where = place_label(data["level"])

    def sheet(name: str, headers: list[str], rows: list[list], first: bool = False):
        ws = book.active if first else book.create_sheet()
        ws.title = name
        ws.append([title(data)])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([_("生成时间：%(at)s；生成人：%(who)s（%(role)s）", at=localtime.show(data["generated_at"]),
                     who=data["made_by"], role=role_label(data["made_by_role"]))])
        ws.append(headers)
        for cell in ws[3]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True)
        for row in rows:
            ws.append(row)
        for i, h in enumerate(headers, 1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, 2 * len(str(h)) + 2)
        ws.freeze_panes = "A4"
        return ws

    sheet(_("概况"), [_("指标"), data["month"], data["previous"], _("变化")],
          [[f["label"], f["this"], f["last"], f["delta"]] for f in data["figures"]], first=True)
    sheet(_("考核排名"), [_("名次"), _("代码"), where, _("新增隐患"), _("按期整改"), _("逾期未改"), _("按期整改率"),
                      _("整改用时中位数（小时）"), _("核查结案"), _("整改后复发"), _("居民评价（星）"), _("评价数")],
          [[r["rank"], r["code"], r["name"], r["new"], r["rectified_on_time"], r["overdue"], r["on_time_rate"],
            r["median_hours"], r["verified"], r["recurred"], r["rating"], r["ratings"]] for r in data["ranking"]])
    sheet(_("月度趋势"), [_("月份"), _("新增隐患"), _("按期整改"), _("逾期后整改"), _("逾期未改"), _("按期整改率")],
          [[m["month"], m["new"], m["rectified_on_time"], m["rectified_late"], m["overdue"], m["on_time_rate"]]
           for m in data["trend"]])
    names = _names()
    sheet(_("最久逾期"), [_("编号"), _("街镇"), _("居村委"), _("类别"), _("风险"), _("状态"), _("地址"), _("上报时间"),
                      _("整改期限"), _("逾期小时")],
          [[r["id"], r["town"], r["committee"], names["categories"].get(r["category"], r["category"]),
            names["risks"].get(r["risk_level"], r["risk_level"]), names["statuses"].get(r["status"], r["status"]),
            r["address"], localtime.show(r["created_at"]), localtime.show(r["due_at"]), r["hours_overdue"]]
           for r in data["oldest_overdue"]])
    sheet(_("主题活动"), [_("活动"), _("开始"), _("结束"), _("活动期间上报"), _("此前同期上报"), _("按期整改"),
                      _("按期整改率"), _("已巡查场所")],
          [[c["campaign"]["title"], c["campaign"]["starts_on"], c["campaign"]["ends_on"], c["reports"],
            c["reports_before"], c["rectified_on_time"], c["on_time_rate"], c["sites_inspected"]]
           for c in data["campaigns"]])
    hot = data["bodies"]["hotline"]
    sheet(_("转派与热线"), [_("单位"), _("转派"), _("按期签收"), _("按期签收率"), _("按期办结"), _("退回"),
                       _("办结用时中位数（小时）")],
          [[b["name"], b["transferred"], b["signed_on_time"], b["sign_rate"], b["finished_on_time"], b["returned"],
            b["median_hours"]] for b in data["bodies"]["bodies"]]
          + [[], [_("热线工单"), _("按期签收率"), _("退回"), _("按期答复率"), _("逾期未答复"), _("回访率"), _("满意率"),
                  _("不满意")],
             [hot["orders"], hot["sign_rate"], hot["returned"], hot["reply_rate"], hot["unreplied_overdue"],
              hot["callback_rate"], hot["satisfaction_rate"], hot["unsatisfied"]]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make(user, month: str | None, town: str, fmt: str) -> tuple[dict, bytes]:
    """Check the request (422 for a bad month, 404/403 for a town), build the figures once and render them."""
    now = clock.now()
    today = now.astimezone(localtime.zone()).date()
    req = monthly.check(user, monthly.parse_month(month, today), town)
    data = monthly.build(req, now)
    return data, pdf(data) if fmt == "pdf" else xlsx(data)


def respond(user, args, fmt: str) -> Response:
    """GET /dashboard/monthly.pdf|.xlsx: the report of ?month= (and &town=) as a download."""
    data, body = make(user, args.get("month"), args.get("town", ""), fmt)
    return Response(body, mimetype=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename(data, fmt)}"'})
