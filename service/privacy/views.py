"""The district admin's page of the access log (/access-log): who saw residents' contacts, newest first."""
from flask import current_app, render_template, request

from service.accounts.auth import actor
from service.core.errors import ApiError
from service.privacy import access, bp
from service.privacy.api import district_admin


@bp.get("/access-log")
def access_log_page():
    """The log a page at a time, narrowed by person, report or order; a bad filter shows the page with why."""
    if actor() is None:
        return current_app.login_manager.unauthorized()
    district_admin()
    args, error, status = request.args, None, 200
    try:
        filt = access.LogFilter.from_args(args)
        rows, cursor = access.page(filt, args.get("cursor", ""))
    except ApiError as e:
        filt, rows, cursor, error, status = access.LogFilter(), [], None, e.message, e.status
    return render_template("privacy/access_log.html", rows=rows, next_cursor=cursor, filt=filt, error=error,
                           values={k: args.get(k, "") for k in ("user", "report", "order")}), status
