"""What each native API endpoint takes and answers, keyed by its Flask endpoint name.

The paths, methods and path parameters come from the app's URL map (service.apidocs.spec); this table adds
the summary a person reads and the schemas. tests/test_openapi.py fails when a /api/v1 route has no entry
here, so a new route cannot be left out of the description.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from marshmallow import Schema

from service.apidocs import schemas as s


@dataclass(frozen=True)
class Operation:
    summary: object  # a lazy translation
    tag: str
    ok: type[Schema] | dict  # the 2xx answer's JSON schema, or media types -> a schema or a description
    status: int = 200
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    multipart: bool = False
    public: bool = False  # callable without signing in (a 401 is not its answer to an anonymous caller)
    also: dict = field(default_factory=dict)  # further 2xx statuses -> schema


EXPORT_TYPES = {"text/csv": "CSV (UTF-8 BOM)", "application/geo+json": s.FeatureCollection,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX"}

OPERATIONS = {
    "apidocs.openapi": Operation(_l("本 API 的 OpenAPI 3.1 描述"), "docs", {"application/json": "OpenAPI"},
                                 public=True),
    "reports_api.list_categories": Operation(_l("隐患类别与风险等级"), "reports", s.Categories, public=True),
    "reports_api.create_report": Operation(
        _l("上报火灾隐患（匿名上报时返回回执）"), "reports", s.CreatedReport, 201, body=s.NewReport, multipart=True,
        public=True, also={200: s.CreatedReport}),
    # Callable by anyone, but a report out of the caller's scope (every report, for an anonymous caller) is a 404:
    # whether it exists is not told.
    "reports_api.get_report": Operation(_l("查看一条上报及其处理记录"), "reports", s.ReportDetail, public=True),
    "reports_api.list_reports": Operation(_l("分页列出可见的上报"), "reports", s.ReportPage, query=s.ReportListArgs),
    "reports_api.export_reports": Operation(_l("按筛选条件导出上报"), "reports", EXPORT_TYPES,
                                            query=s.ReportFilterArgs),
    "reports_api.transition": Operation(_l("变更上报状态（受理、派单、整改、核查等）"), "reports", s.ReportDetail,
                                        body=s.Move),
    "reports_api.assignees": Operation(_l("可派单的志愿者"), "reports", s.Assignees),
    "reports_api.reassign": Operation(_l("改派至其他居村委"), "reports", s.ReportDetail, body=s.Reassign),
    "areas.list_areas": Operation(_l("当前边界（GeoJSON）"), "areas", s.FeatureCollection, query=s.AreaArgs,
                                  public=True),
    "areas.lookup_area": Operation(_l("查询某点所属居村委与街镇"), "areas", s.Lookup, query=s.LocationArgs,
                                   public=True),
    "volunteers.list_volunteers": Operation(_l("分页列出志愿者"), "volunteers", s.Volunteers,
                                            query=s.VolunteerArgs),
    "volunteers.my_summary": Operation(_l("我的志愿者档案与服务时长"), "volunteers", s.Volunteer),
    "volunteers.get_volunteer": Operation(_l("查看一名志愿者"), "volunteers", s.Volunteer),
    "volunteers.list_hours": Operation(_l("志愿者的服务时长记录"), "volunteers", s.HourEntries),
    "volunteers.add_hours": Operation(_l("登记服务时长"), "volunteers", s.HourEntry, 201, body=s.NewHours),
    "volunteers.approve": Operation(_l("核准一条服务时长"), "volunteers", s.HourEntry, body=s.Decision),
    "volunteers.reject": Operation(_l("驳回一条服务时长"), "volunteers", s.HourEntry, body=s.Decision),
}
