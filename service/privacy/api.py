"""GET /api/v1/access-log: the access log as JSON, newest first, a keyset page at a time (district admins only)."""
from flask import jsonify, request
from flask_babel import gettext as _

from service.core.errors import ApiError
from service.privacy import access, bp
from service.web.guards import require_user


def district_admin():
    """Fail closed: only a district admin reads the log; signed out is a 401, any other role a 403."""
    user = require_user()
    if user.role != "district_admin":
        raise ApiError(403, "forbidden", _("只有区级管理员可以查阅联系方式查看记录。"))
    return user


@bp.get("/api/v1/access-log")
def access_log():
    """Who saw residents' contacts: ?user=, ?report=, ?order= narrow it, ?limit= (1–100) and ?cursor= page it."""
    district_admin()
    rows, cursor = access.page(access.LogFilter.from_args(request.args), request.args.get("cursor", ""))
    return jsonify(records=rows, next_cursor=cursor)
