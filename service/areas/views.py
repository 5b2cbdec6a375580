"""The areas API (boundaries, which committee covers a point, now or at a past date) and the boundary import page."""
import hashlib
import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from geo import boundaries as geo_boundaries
from service.accounts.auth import actor
from service.areas import boundaries, bp, generations
from service.core.errors import ApiError
from service.maps import preview


def _admin():
    user = actor()
    if user.role != "district_admin":
        raise ApiError(403, "forbidden", _("只有区级管理员可以导入边界。"))
    return user


@bp.get("/admin/boundaries")
@login_required
def import_page():
    """Show the boundary import form and the generations in force."""
    _admin()
    return render_template("areas/import.html", levels=boundaries.LEVELS,
                           generations=boundaries.recent_generations())


def _read_upload() -> tuple[list, str, dict]:
    """The uploaded boundaries, the file's sha256 and the options, or a 422 saying what to fix."""
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        raise ApiError(422, "no_file", _("请选择一个 GeoJSON 边界文件。"))
    level, crs = request.form.get("level", ""), request.form.get("crs", "wgs84")
    if level not in boundaries.LEVELS:
        raise ApiError(422, "bad_level", _("level 只能是 district、town 或 committee。"))
    try:
        items = geo_boundaries.read_boundaries(json.loads(data), crs=crs, level=level)
    except (geo_boundaries.BoundaryError, ValueError) as e:
        message = _("无法读取边界文件：%(reason)s。请检查文件后重新上传。", reason=str(e))
        raise ApiError(422, "bad_boundaries", message) from e
    towns = [t for t in request.form.get("towns", "").replace("，", ",").replace(" ", ",").split(",") if t]
    options = {"level": level, "crs": crs, "towns": towns, "towns_in_file": request.form.get("towns_in_file") == "1"}
    return items, hashlib.sha256(data).hexdigest(), options


@bp.post("/admin/boundaries/preview")
@login_required
def preview_import():
    """Preview an import: topology, codes that change, open reports that would move, a map; nothing is written."""
    _admin()
    items, digest, options = _read_upload()
    result = generations.run(items, options["level"], towns=options["towns"] or None,
                             towns_in_file=options["towns_in_file"], dry_run=True)
    return preview.render(result, digest, options)


@bp.post("/admin/boundaries/import")
@login_required
def confirm_import():
    """Import the file just previewed (the same bytes), with the same options."""
    _admin()
    items, digest, options = _read_upload()
    if digest != request.form.get("sha256"):
        raise ApiError(409, "file_changed", _("文件与预览时不同，请重新预览后再确认导入。"))
    result = generations.run(items, options["level"], towns=options["towns"] or None,
                             towns_in_file=options["towns_in_file"], source=request.files["file"].filename)
    if result.generation is None:
        flash(_("边界没有变化，未产生新的一代。"))
    else:
        flash(_("已导入为第 %(g)s 代边界，改派了 %(n)s 条未办结隐患。", g=result.generation, n=result.moved))
    return redirect(url_for("areas.import_page"), code=303)
