"""What each native API endpoint takes and answers, keyed by its Flask endpoint name.

The paths, methods and path parameters come from the app's URL map (service.apidocs.spec); this table adds
the summary a person reads and the schemas. tests/browser/test_openapi.py fails when a /api/v1 route has no entry
here, so a new route cannot be left out of the description.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from marshmallow import Schema

from service.apidocs import bodies as b
from service.apidocs import schemas as s


@dataclass(frozen=True)
class Operation:
    summary: object  # a lazy translation
    tag: str
    ok: type[Schema] | dict  # the 2xx answer's JSON schema, or media types -> a schema or a description
    status: int = 200
    query: type[Schema] | None = None
    body: type[Schema] | None = None  # a service.apidocs.bodies schema, which also checks it (but see NewReport)
    multipart: bool = False
    public: bool = False  # callable without signing in (a 401 is not its answer to an anonymous caller)
    also: dict = field(default_factory=dict)  # further 2xx statuses -> schema


HOURS_TYPES = {"text/csv": "CSV (UTF-8 BOM)",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX"}
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
                                        body=b.Move),
    "reports_api.assignees": Operation(_l("可派单的志愿者"), "reports", s.Assignees),
    "reports_api.reassign": Operation(_l("改派至其他居村委"), "reports", s.ReportDetail, body=b.Reassign),
    "areas.list_areas": Operation(_l("当前边界（GeoJSON）"), "areas", s.FeatureCollection, query=s.AreaArgs,
                                  public=True),
    "areas.lookup_area": Operation(_l("查询某点所属居村委与街镇"), "areas", s.Lookup, query=s.LocationArgs,
                                   public=True),
    "volunteers.list_volunteers": Operation(_l("分页列出志愿者"), "volunteers", s.Volunteers,
                                            query=s.VolunteerArgs),
    "volunteers.my_summary": Operation(_l("我的志愿者档案与服务时长"), "volunteers", s.Volunteer),
    "volunteers.get_volunteer": Operation(_l("查看一名志愿者"), "volunteers", s.Volunteer),
    "volunteers.list_hours": Operation(_l("志愿者的服务时长记录"), "volunteers", s.HourEntries),
    "volunteers.add_hours": Operation(_l("登记服务时长"), "volunteers", s.HourEntry, 201, body=b.NewHours),
    "volunteers.approve": Operation(_l("核准一条服务时长"), "volunteers", s.HourEntry, body=b.Decision),
    "volunteers.reject": Operation(_l("驳回一条服务时长"), "volunteers", s.HourEntry, body=b.Decision),
    "volunteers.edit_profile": Operation(_l("修改志愿者档案"), "volunteers", s.Open, body=b.Profile),
    "volunteers.edit_my_profile": Operation(_l("修改我的技能与可服务时间"), "volunteers", s.Open, body=b.MyProfile),
    "volunteers.my_tasks": Operation(_l("我的任务"), "volunteers", s.Open),
    "volunteers.export_hours": Operation(_l("导出已核准的服务时长"), "volunteers", HOURS_TYPES),
    "reports_api.regrade": Operation(_l("调整风险等级并重算整改期限"), "reports", s.ReportDetail, body=b.Regrade),
    "dashboard.stats": Operation(_l("统计看板的全部数字"), "stats", s.Open, query=s.ReportFilterArgs),
    # 三单 service orders (service/orders): shapes in service/orders/api.py and queries.py.
    "orders_api.kinds": Operation(_l("可预约的服务类别"), "orders", s.Open, public=True),
    "orders_api.create": Operation(_l("预约服务（无需账号，返回私人跟踪链接）"), "orders", s.Open, 201,
                                   body=b.NewOrder, public=True),
    "orders_api.track": Operation(_l("按跟踪链接查看服务单"), "orders", s.Open, public=True),
    "orders_api.rate": Operation(_l("评价已完成的服务"), "orders", s.Open, body=b.Rating, public=True),
    "orders_api.list_orders": Operation(_l("分页列出可见的服务单"), "orders", s.Open),
    "orders_api.my_tasks": Operation(_l("我接到的服务单"), "orders", s.Open),
    "orders_api.get": Operation(_l("查看一张服务单"), "orders", s.Open),
    "orders_api.suggestions": Operation(_l("可派单的志愿者（由近及远）"), "orders", s.Open),
    "orders_api.dispatch": Operation(_l("派单"), "orders", s.Open, body=b.Dispatch),
    "orders_api.respond": Operation(_l("接单或拒单"), "orders", s.Open, body=b.OrderNote),
    "orders_api.cancel": Operation(_l("取消服务单"), "orders", s.Open, body=b.OrderNote),
    "orders_api.check_in": Operation(_l("到场签到"), "orders", s.Open, body=b.Position),
    "orders_api.check_out": Operation(_l("服务完成签退"), "orders", s.Open, body=b.CheckOut),
    # Key sites, inspections and campaigns (service/sites).
    "sites_api.list_sites": Operation(_l("分页列出重点场所"), "sites", s.Open),
    "sites_api.get_site": Operation(_l("查看一个重点场所及其隐患数字"), "sites", s.Open),
    "sites_api.relink_site": Operation(_l("更正上报关联的场所"), "sites", s.Open, body=b.Relink),
    "sites_api.recurrence_figures": Operation(_l("复发率与按期整改率"), "sites", s.Open, query=s.ReportFilterArgs),
    "sites_api.current_campaigns": Operation(_l("正在进行的主题活动"), "sites", s.Open, public=True),
    "sites_api.list_campaigns": Operation(_l("分页列出主题活动"), "sites", s.Open),
    "sites_api.create_campaign": Operation(_l("发起主题活动"), "sites", s.Open, 201, body=b.NewCampaign),
    "sites_api.end_campaign": Operation(_l("结束主题活动"), "sites", s.Open),
    "sites_api.campaign_results": Operation(_l("主题活动成效"), "sites", s.Open),
    "sites_api.plan_round": Operation(_l("安排巡查轮次"), "sites", s.Open, 201, body=b.NewRound),
    "sites_api.my_inspections": Operation(_l("我的待办巡查"), "sites", s.Open),
    "sites_api.check_in": Operation(_l("巡查到场签到"), "sites", s.Open, body=b.Position),
    "sites_api.finish_inspection": Operation(_l("提交巡查结果"), "sites", s.Open, body=s.Open, multipart=True),
    "sites_api.inspection_coverage": Operation(_l("巡查覆盖与按期情况"), "sites", s.Open),
    # Who saw residents' contacts (service/privacy/access.py): district admins only.
    "privacy.access_log": Operation(_l("联系方式查看记录（区级管理员）"), "privacy", s.AccessLog,
                                    query=s.AccessLogArgs),
}
