"""The resident's tracking page (/track/<token>) and its forms; the reporter's rating from /me/reports."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from service.accounts.auth import actor, client_addr
from service.core.db import db
from service.core.errors import ApiError
from service.core.models import Photo, Report
from service.hotline import callbacks
from service.photos.redact import published
from service.photos.views import send_stored
from service.receipts import misses, ratings, receipts, verification
from service.receipts.models import ReportReceipt
from service.reports import queries, redaction_requests

bp = Blueprint("receipts", __name__, template_folder="templates")
MAX_TOKEN = 100


@bp.app_template_global()
def report_ratings(report_ids) -> dict:
    """Ratings of these reports (for my reports and the supervisors' detail page), in one query."""
    return ratings.ratings_of(report_ids)


@bp.app_template_global()
def receipt_number(report_id) -> str | None:
    """The receipt number a resident quotes on the phone, for the staff's detail page."""
    receipt = db.session.get(ReportReceipt, report_id)
    return receipt.number if receipt is not None else None


def _opened(token: str) -> tuple[ReportReceipt, Report]:
    """The receipt and report a token opens; a miss is counted and is a 404, too many misses a 429."""
    addr = client_addr()
    misses.check(addr)
    receipt = receipts.by_token(token) if len(token) <= MAX_TOKEN else None
    if receipt is None:
        misses.record(addr)
        abort(404)
    return receipt, db.session.get(Report, receipt.report_id)


@bp.after_request
def private(response):
    # The link is the key: never cached by a shared proxy, never indexed.
    if request.endpoint and request.endpoint.startswith("receipts.track"):
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/track/<token>")
def track(token: str):
    """Show a resident what became of their report."""
    receipt, report = _opened(token)
    return _page(token, receipt, report)


def _page(token, receipt, report, error: str | None = None, status: int = 200):
    rating = ratings.ratings_of([report.id]).get(report.id)
    return render_template("receipts/track.html", token=token, receipt=receipt, report=report, error=error,
                           progress=receipts.progress(report), rating=rating, callback=callbacks.state(report),
                           callback_labels=callbacks.ANSWER_LABELS,
                           notify=receipts.masked(receipt), pending=verification.pending(receipt),
                           photos=[p for p in published(report.photos) if p.role == "before"],
                           asked=redaction_requests.open_for(report.id)), status


def _done(token: str, message: str):
    flash(message, "ok")
    return redirect(url_for("receipts.track", token=token), code=303)


@bp.post("/track/<token>/callback")
def track_callback(token: str):
    """The caller of a hotline order answers the call-back (回访)."""
    receipt, report = _opened(token)
    try:
        callbacks.answer(report.id, request.form.get("answer"), request.form.get("reason"))
    except ApiError as e:
        db.session.rollback()
        return _page(token, receipt, db.session.get(Report, receipt.report_id), e.message, e.status)
    return _done(token, _("感谢您的反馈！") if request.form.get("answer") != "unsatisfied"
                 else _("感谢您的反馈，街镇将重新核查整改情况。"))


@bp.post("/track/<token>/rating")
def track_rating(token: str):
    receipt, report = _opened(token)
    try:
        ratings.rate(report, request.form.get("stars"), request.form.get("comment"), rater_id=None)
    except ApiError as e:
        return _page(token, receipt, report, e.message, e.status)
    return _done(token, _("感谢您的评价！"))


@bp.post("/track/<token>/updates")
def track_updates(token: str):
    """Send updates to a contact (after its one-time code, unless confirmed before), or stop them (empty)."""
    receipt, report = _opened(token)
    try:
        state = receipts.set_updates(receipt, (request.form.get("contact") or "").strip())
    except ApiError as e:
        db.session.rollback()
        return _page(token, receipt, report, e.message, e.status)
    return _done(token, _UPDATES_SAID[state](receipt))


_UPDATES_SAID = {
    "off": lambda _receipt: _("已停止发送进展通知。"),
    "on": lambda receipt: _("处理进展将发送至 %(to)s。", to=receipts.masked(receipt)),
    "code_sent": lambda receipt: _("验证码已发送至 %(to)s，请在下方输入，确认后才会发送处理进展。",
                                   to=verification.pending(receipt).to),
}


@bp.post("/track/<token>/confirm")
def track_confirm(token: str):
    """The resident types the one-time code back: from now on the updates go to that address."""
    receipt, report = _opened(token)
    try:
        to = verification.confirm(receipt, request.form.get("code"))
    except ApiError as e:
        return _page(token, receipt, report, e.message, e.status)
    return _done(token, _("验证成功，处理进展将发送至 %(to)s。", to=to))


@bp.post("/track/<token>/resend")
def track_resend(token: str):
    """Send a new code to the address the last one went to."""
    receipt, report = _opened(token)
    try:
        verification.resend(receipt, receipt.number)
    except ApiError as e:
        db.session.rollback()
        return _page(token, receipt, report, e.message, e.status)
    return _done(token, _UPDATES_SAID["code_sent"](receipt))


@bp.post("/track/<token>/revoke")
def track_revoke(token: str):
    """End the link for good (e.g. it was shared by mistake)."""
    receipt, report = _opened(token)
    if not request.form.get("confirm"):
        return _page(token, receipt, report, _("请先勾选“我确认作废此链接”，再作废。"), 422)
    receipts.revoke(receipt)
    return render_template("receipts/revoked.html")


@bp.post("/track/<token>/photos/<int:photo_id>/redaction-request")
def track_ask_redaction(token: str, photo_id: int):
    """The resident asks for one of their photos to be checked (请求遮挡); it lands in the town's queue."""
    receipt, report = _opened(token)
    try:
        _request, new = redaction_requests.ask(report, photo_id, request.form.get("reason"), None)
    except ApiError as e:
        db.session.rollback()
        return _page(token, receipt, db.session.get(Report, receipt.report_id), e.message, e.status)
    return _done(token, _("已提交遮挡请求，街镇工作人员会尽快核查这张照片。") if new
                 else _("这张照片已在核查队列中，街镇工作人员会尽快处理。"))


@bp.get("/track/<token>/after/<int:photo_id>.jpg")
def track_after_photo(token: str, photo_id: int):
    """The public copy (no EXIF) of an after-photo, once the report is rectified."""
    _receipt, report = _opened(token)
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.report_id != report.id or photo_id not in receipts.progress(report)["after_photos"]:
        abort(404)
    return send_stored(photo.public_key, public=False)


@bp.post("/me/reports/<report_id>/rating")
@login_required
def my_rating(report_id: str):
    """Rate one of my own reports after verification."""
    user = actor()
    try:
        report = queries.get_report(report_id, user)
        if report.reporter_id != user.id:
            raise ApiError(404, "report_not_found", _("找不到该上报，请检查编号是否正确。"))
        ratings.rate(report, request.form.get("stars"), request.form.get("comment"), rater_id=user.id)
    except ApiError as e:
        if e.status == 404:
            abort(404)
        flash(e.message, "error")
        return redirect(url_for("reports.my_reports") + f"#report-{report_id}", code=303)
    flash(_("感谢您的评价！"), "ok")
    return redirect(url_for("reports.my_reports") + f"#report-{report_id}", code=303)
