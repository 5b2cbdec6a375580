"""Pages of service orders: the resident's order form and tracking page, the dispatch queue, one order's page."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from service.accounts.auth import actor, client_addr
from service.core import fields
from service.core.db import db
from service.core.errors import ApiError
from service.orders import intake, moves, onsite, queries, suggest
from service.orders.api import admit_resident, next_cursor, page_args, tracked
from service.orders.api import private as api_private
from service.orders.models import ServiceOrderPhoto
from service.orders.workflow import KINDS, OFFER_LABELS, STATUS_LABELS, moves_for
from service.photos.views import send_stored
from service.privacy import access

bp = Blueprint("orders", __name__, template_folder="templates")
PAGE = 50


@bp.app_context_processor
def order_words():
    """Kinds and offer states for templates of other areas too (the /me/tasks card of an order)."""
    return {"order_kinds": KINDS, "order_offer_labels": OFFER_LABELS}


class CsrfForm(FlaskForm):
    """Only carries the CSRF token; the fields are read from request.form by the domain functions."""


@bp.route("/request", methods=["GET", "POST"])
def request_form():
    """Show the mobile page to order a service, and take the order (no account needed)."""
    error, status = None, 200
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            error, status = _("页面已过期，请刷新页面后重试。"), 400
        else:
            try:
                admit_resident()
                _order, token = intake.create_order(request.form, client_addr())
                return redirect(url_for("orders.track", token=token, new=1), code=303)
            except ApiError as e:
                error, status = e.message, e.status
    return render_template("orders/request.html", kinds=KINDS, form=CsrfForm(), error=error,
                           values=request.form), status


def _tracked(token: str):
    try:
        return tracked(token)
    except ApiError as e:
        abort(e.status if e.status == 429 else 404)


@bp.after_request
def private(response):
    return api_private(response)


@bp.get("/request/t/<token>")
def track(token: str):
    """The resident's private tracking page: status, who is coming and when, the outcome, the rating."""
    order = _tracked(token)
    return render_template("orders/track.html", token=token, order=order, data=queries.tracking_json(order),
                           form=CsrfForm(), new=request.args.get("new") == "1")


@bp.post("/request/t/<token>/rate")
def rate(token: str):
    order = _tracked(token)
    if not CsrfForm().validate_on_submit():
        flash(_("页面已过期，请刷新页面后重试。"), "error")
    else:
        try:
            moves.rate(order, request.form.get("rating"), (request.form.get("comment") or "").strip())
            flash(_("感谢您的评价！"), "ok")
        except ApiError as e:
            flash(e.message, "error")
    return redirect(url_for("orders.track", token=token), code=303)


@bp.get("/request/t/<token>/photos/<int:photo_id>")
def tracked_photo(token: str, photo_id: int):
    """An outcome photo's public copy (no EXIF), to the holder of that order's link only."""
    return _photo(_tracked(token).id, photo_id)


def _photo(order_id: int, photo_id: int):
    photo = db.session.get(ServiceOrderPhoto, photo_id)
    if photo is None or photo.order_id != order_id or photo.redaction_pending:
        abort(404)
    return send_stored(photo.public_key, public=False)


@bp.get("/orders")
@login_required
def queue():
    """The dispatch queue (待派单 first by default), oldest first, with totals over the whole table."""
    try:
        statuses, after, limit = page_args()
    except ApiError as e:
        return render_template("error.html", status=e.status, message=e.message), e.status
    user = actor()
    found = db.session.scalars(queries.queue(user, statuses, after, min(limit, PAGE) + 1)).all()
    totals = {s: queries.count(user, (s,)) for s in queries.QUEUE_STATUSES}
    return render_template("orders/queue.html", orders=found[:PAGE], totals=totals, statuses=statuses,
                           next_cursor=next_cursor(found, min(limit, PAGE)), kinds=KINDS, labels=STATUS_LABELS)


@bp.get("/orders/<order_id>")
@login_required
def detail(order_id: str):
    return _detail(order_id)


def _detail(order_id: str, error: str | None = None, status: int = 200):
    user = actor()
    try:
        order = queries.get_order(order_id, user)
    except ApiError:
        abort(404)
    offer = queries.own_offer(order, user)
    allowed = moves_for(user.role, order.status, offer.state if offer else None)
    skill = request.args.get("skill", KINDS[order.kind][1] or "") or None
    suggestions = suggest.suggest(order, user, skill) if "dispatch" in allowed else []
    data = queries.to_json(order, user)
    page = render_template("orders/detail.html", order=order, data=data, offer=offer,
                           allowed=allowed, suggestions=suggestions, skill=skill or "", form=CsrfForm(),
                           error=error, kinds=KINDS, labels=STATUS_LABELS, offer_labels=OFFER_LABELS)
    access.record_orders(user, "detail", [data], order_id=data["id"])  # who saw the resident's contact (privacy)
    return page, status


@bp.post("/orders/<order_id>/<any(dispatch, accept, decline, cancel, check_in, check_out):move>")
@login_required
def move(order_id: str, move: str):
    """Apply one move from the order's page."""
    if not CsrfForm().validate_on_submit():
        return _detail(order_id, _("页面已过期，请刷新页面后重试。"), 400)
    user, form = actor(), request.form
    try:
        note = fields.note(form.get("note"))
        if move == "dispatch":
            moves.dispatch(order_id, user, form.getlist("volunteer_ids"), (form.get("team") or "").strip() or None,
                           note)
        elif move in ("accept", "decline"):
            moves.respond(order_id, user, move, note)
        elif move == "cancel":
            moves.cancel(order_id, user, note)
        elif move == "check_in":
            onsite.check_in(order_id, user, form)
        else:
            onsite.check_out(order_id, user, form, request.files.getlist("photo"))
    except ApiError as e:
        db.session.rollback()
        if e.status == 404:
            abort(404)
        return _detail(order_id, e.message, e.status)
    flash(_("操作成功。"), "ok")
    return redirect(url_for("orders.detail", order_id=order_id), code=303)


@bp.get("/orders/<order_id>/photos/<int:photo_id>")
@login_required
def photo(order_id: str, photo_id: int):
    try:
        order = queries.get_order(order_id, actor())
    except ApiError:
        abort(404)
    if not queries.contact(order, actor())["contact_visible"]:
        abort(404)  # taken in the resident's home: private as the contact is (order_contact in models.py)
    return _photo(order.id, photo_id)
