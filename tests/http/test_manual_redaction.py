"""Staff blur a region of a photo by hand; a district admin takes it back; anyone who sees a photo may ask for it to
be checked (issue 25). Real uploads, the real sandbox and detector, the real photo store on disk."""
import json

import pytest

from service.photos import decode
from tests.support.faces import sharpness
from tests.support.receipts import sent, track_path
from tests.support.redaction import busy_photo, events, image, mean_difference, photo_row, reported, sha, stored, token

BOX = [0.1, 0.1, 0.4, 0.45]
BOX_PX = (160, 120, 640, 540)  # BOX in pixels of the 1600x1200 copy
OUTSIDE_PX = (900, 700, 1500, 1150)


def redact(session, rid, pid, boxes, csrf=None):
    csrf = csrf or token(session, f"/reports/{rid}")
    raw = boxes if isinstance(boxes, str) else json.dumps(boxes)
    return session.post(f"/reports/{rid}/photos/{pid}/redact", data={"csrf_token": csrf, "boxes": raw},
                        allow_redirects=False)


def test_a_redaction_writes_new_public_copies_removes_the_old_and_keeps_the_original(http, as_user, spot, app,
                                                                                     photo_dir):
    photo = busy_photo()
    body = reported(http, spot, photo)
    before = photo_row(app, body["id"])
    old_public = stored(photo_dir, before.public_key)
    assert old_public == decode.derive(photo).public  # face-free: the copy as derived without blurring

    sup = as_user("sup_a")
    r = redact(sup, body["id"], before.id, [BOX])
    assert r.status_code == 303, r.text[:500]
    after = photo_row(app, body["id"])
    assert after.public_key != before.public_key and after.thumb_key != before.thumb_key
    assert after.public_key.startswith(f"p/{before.sha256[:2]}/{before.sha256}.")  # a new, versioned key
    # The replaced files are gone from the store and their URLs answer 404; the new ones are served.
    assert stored(photo_dir, before.public_key) is None and stored(photo_dir, before.thumb_key) is None
    assert http.get(f"/photos/{before.public_key}").status_code == 404
    new = http.get(f"/photos/{after.public_key}")
    assert new.status_code == 200 and new.content == stored(photo_dir, after.public_key)
    assert "immutable" in new.headers["Cache-Control"]
    assert stored(photo_dir, after.thumb_key) is not None
    # The region is blurred, the rest as it was; the original is byte for byte what was sent.
    old_img, new_img = image(old_public), image(new.content)
    assert sharpness(new_img, BOX_PX) < 0.1 * sharpness(old_img, BOX_PX)
    assert mean_difference(new_img, old_img, OUTSIDE_PX) < 1.0
    assert stored(photo_dir, before.original_key) == photo and sha(photo) == before.sha256
    assert http.get(f"/photos/{before.original_key}").content == photo
    # The report shows the new copy, and its history says who did it; its status did not move.
    shown = sup.get(f"/api/v1/reports/{body['id']}").json()
    assert shown["photos"] == [f"/photos/{after.public_key}"] and shown["status"] == "submitted"
    [event] = events(app, body["id"], "redact")
    assert event.actor_label == "测试sup_a" and event.data["boxes"] == [BOX] and event.data["photo_id"] == before.id
    assert event.from_status == event.to_status == "submitted"
    page = sup.get(f"/reports/{body['id']}").text
    assert "遮挡了照片（1 处）" in page and after.public_key in page and before.public_key not in page


def test_a_second_redaction_adds_to_the_first(http, as_user, spot, app, photo_dir):
    body = reported(http, spot, busy_photo(32))
    pid = photo_row(app, body["id"]).id
    sup = as_user("sup_a")
    assert redact(sup, body["id"], pid, [BOX]).status_code == 303
    second = [0.6, 0.6, 0.9, 0.9]
    assert redact(sup, body["id"], pid, [second]).status_code == 303
    new_img = image(stored(photo_dir, photo_row(app, body["id"]).public_key))
    plain = image(decode.derive(busy_photo(32)).public)
    for box in (BOX_PX, (960, 720, 1440, 1080)):  # both regions stay covered: written from the original each time
        assert sharpness(new_img, box) < 0.1 * sharpness(plain, box)
    assert [e.data["all_boxes"] for e in events(app, body["id"], "redact")] == [[BOX], [BOX, second]]


@pytest.mark.parametrize("boxes, status, said", [
    ("", 400, "格式无法识别"),
    ("not json", 400, "格式无法识别"),
    ('{"x": 1}', 400, "格式无法识别"),
    ("[[NaN, 0, 1, 1]]", 400, "格式无法识别"),
    ([[True, 0, 1, 1]], 400, "格式无法识别"),
    ([[0.1, 0.1, 0.5]], 400, "格式无法识别"),
    ([], 422, "至少一处"),
    ([[0.1, 0.1, 0.2, 0.2]] * 21, 422, "一次最多遮挡 20 处"),
    ([[-0.1, 0.1, 0.5, 0.5]], 422, "超出了照片范围"),
    ([[0.1, 0.1, 1.2, 0.5]], 422, "超出了照片范围"),
    ([[0.3, 0.3, 0.3, 0.6]], 422, "太小或为空"),
    ([[0.5, 0.5, 0.2, 0.2]], 422, "太小或为空"),
], ids=["empty", "not-json", "object", "nan", "bool", "three-numbers", "none", "too-many", "negative", "beyond",
        "no-width", "upside-down"])
def test_bad_boxes_are_refused_in_chinese_and_change_nothing(http, as_user, spot, app, photo_dir, boxes, status, said):
    body = reported(http, spot, busy_photo(33))
    before = photo_row(app, body["id"])
    r = redact(as_user("sup_a"), body["id"], before.id, boxes)
    assert r.status_code == status and said in r.text, (r.status_code, r.text[-800:])
    after = photo_row(app, body["id"])
    assert (after.public_key, after.thumb_key) == (before.public_key, before.thumb_key)
    assert stored(photo_dir, before.public_key) is not None and events(app, body["id"], "redact") == []


def test_only_staff_whose_scope_covers_the_report_may_redact(as_user, spot, app, photo_dir):
    vol = as_user("vol")
    body = reported(vol, spot, busy_photo(34))  # the volunteer's own report: they see it, but are no staff
    before = photo_row(app, body["id"])
    r = redact(vol, body["id"], before.id, [BOX])
    assert r.status_code == 403 and "只有工作人员可以手动遮挡" in r.text
    for outsider in ("sup_b", "staff_b", "staff_sibling"):  # another town, another town's committee, a sibling
        s = as_user(outsider)
        r = s.post(f"/reports/{body['id']}/photos/{before.id}/redact",
                   data={"csrf_token": token(s, "/queues" if outsider == "sup_b" else "/inbox"),
                         "boxes": json.dumps([BOX])}, allow_redirects=False)
        assert r.status_code == 404, outsider
    staff = as_user("staff_a")  # the report's own committee
    assert redact(staff, body["id"], before.id, [BOX]).status_code == 303
    assert photo_row(app, body["id"]).public_key != before.public_key
    # Without the form's token nothing happens either.
    r = staff.post(f"/reports/{body['id']}/photos/{before.id}/redact", data={"boxes": json.dumps([BOX])})
    assert r.status_code == 400 and "页面已过期" in r.text
    # A photo of another report is not this report's: 404, nothing written.
    other = reported(as_user("vol"), spot, busy_photo(35))
    r = redact(staff, body["id"], photo_row(app, other["id"]).id, [BOX])
    assert r.status_code == 404 and "找不到这张照片" in r.text


def test_unredact_is_for_district_admins_and_goes_back_to_the_faces_only_copy(http, as_user, spot, app, photo_dir):
    photo = busy_photo(36)
    body = reported(http, spot, photo)
    pid = photo_row(app, body["id"]).id
    sup = as_user("sup_a")
    r = sup.post(f"/reports/{body['id']}/photos/{pid}/unredact",
                 data={"csrf_token": token(sup, f"/reports/{body['id']}")})
    assert r.status_code == 403 and "只有区级管理员" in r.text
    r = http.post(f"/reports/{body['id']}/photos/{pid}/unredact",
                  data={"csrf_token": token(http, f"/reports/{body['id']}")})
    assert r.status_code == 409 and "没有手动遮挡" in r.text
    assert redact(sup, body["id"], pid, [BOX]).status_code == 303
    redacted = photo_row(app, body["id"])
    page = sup.get(f"/reports/{body['id']}").text
    assert f'id="unredact-{pid}"' not in page  # not offered to a supervisor
    assert f'id="unredact-{pid}"' in http.get(f"/reports/{body['id']}").text
    r = http.post(f"/reports/{body['id']}/photos/{pid}/unredact",
                  data={"csrf_token": token(http, f"/reports/{body['id']}")}, allow_redirects=False)
    assert r.status_code == 303
    back = photo_row(app, body["id"])
    assert back.public_key not in (redacted.public_key, f"p/{back.sha256[:2]}/{back.sha256}.jpg")
    assert stored(photo_dir, back.public_key) == decode.derive(photo).public  # faces-only, as at intake
    assert stored(photo_dir, redacted.public_key) is None and stored(photo_dir, back.original_key) == photo
    [event] = events(app, body["id"], "unredact")
    assert event.actor_label == "测试admin" and event.data["removed"] == 1
    assert "撤销了照片的手动遮挡" in http.get(f"/reports/{body['id']}").text


def test_a_file_another_report_still_names_is_not_deleted(http, as_user, spot, app, photo_dir):
    photo = busy_photo(37)
    first, second = reported(http, spot, photo), reported(http, spot, photo)  # the same bytes: the same keys
    shared = photo_row(app, second["id"])
    assert redact(as_user("sup_a"), first["id"], photo_row(app, first["id"]).id, [BOX]).status_code == 303
    assert stored(photo_dir, shared.public_key) == decode.derive(photo).public
    assert http.get(f"/photos/{shared.public_key}").status_code == 200


def _queue(session) -> str:
    page = session.get("/queues")
    assert page.status_code == 200
    return page.text.split('<section id="redaction">', 1)[1]


def test_a_residents_request_lands_in_the_towns_queue_only_and_a_redaction_closes_it(anon_http, as_user, spot, app):
    body = sent(anon_http, spot)
    path, pid = track_path(body), photo_row(app, body["id"]).id
    page = anon_http.get(path).text
    assert f'id="ask-{pid}"' in page
    csrf = token(anon_http, path)
    r = anon_http.post(f"{path}/photos/{pid}/redaction-request", data={"csrf_token": csrf, "reason": "拍到了邻居的脸"})
    assert r.status_code == 200 and "已提交遮挡请求" in r.text and f'id="asked-{pid}"' in r.text
    again = anon_http.post(f"{path}/photos/{pid}/redaction-request", data={"csrf_token": csrf})
    assert again.status_code == 200 and "已在核查队列中" in again.text  # one open request per photo
    assert len(events(app, body["id"], "redact_request")) == 1
    too_long = anon_http.post(f"{path}/photos/{pid}/redaction-request", data={"csrf_token": csrf, "reason": "长" * 501})
    assert too_long.status_code == 422 and "不能超过 500 字" in too_long.text

    sup_a, sup_b = as_user("sup_a"), as_user("sup_b")
    mine = _queue(sup_a)
    assert "照片遮挡请求（1）" in mine and "拍到了邻居的脸" in mine and body["id"] in mine
    theirs = _queue(sup_b)
    assert "照片遮挡请求（0）" in theirs and body["id"] not in theirs
    assert "照片遮挡请求（1）" in _queue(as_user("admin"))
    [asked] = events(app, body["id"], "redact_request")
    assert asked.note == "拍到了邻居的脸" and asked.data["by"] == "resident" and asked.actor_id is None

    assert redact(sup_a, body["id"], pid, [BOX]).status_code == 303
    assert "照片遮挡请求（0）" in _queue(sup_a)
    [done] = events(app, body["id"], "redact")
    assert done.data["request_id"] == asked.data["request_id"]
    assert "请求遮挡照片" in sup_a.get(f"/reports/{body['id']}").text


def test_a_volunteer_asks_from_the_detail_page_and_staff_decide_no_change(as_user, spot, app):
    vol = as_user("vol")
    body = reported(vol, spot, busy_photo(38))
    pid = photo_row(app, body["id"]).id
    r = vol.post(f"/reports/{body['id']}/photos/{pid}/redaction-request",
                 data={"csrf_token": token(vol, f"/reports/{body['id']}")})
    assert r.status_code == 200 and "已提交遮挡请求" in r.text
    assert "redact-open" not in r.text  # a volunteer is offered no drawing tool
    sup = as_user("sup_a")
    queue = _queue(sup)
    request_id = events(app, body["id"], "redact_request")[0].data["request_id"]
    assert f'redaction-request-{request_id}' in queue
    r = sup.post(f"/reports/{body['id']}/redaction-requests/{request_id}/decline",
                 data={"csrf_token": token(sup, "/queues"), "back": "queues"})
    assert r.status_code == 200 and "无需遮挡" in r.text and "照片遮挡请求（0）" in r.text
    [declined] = events(app, body["id"], "redact_declined")
    assert declined.actor_label == "测试sup_a" and declined.data["request_id"] == request_id
    again = sup.post(f"/reports/{body['id']}/redaction-requests/{request_id}/decline",
                     data={"csrf_token": token(sup, "/queues")})
    assert again.status_code == 409 and "已处理" in again.text
    outsider = as_user("sup_b")
    r = outsider.post(f"/reports/{body['id']}/redaction-requests/{request_id}/decline",
                      data={"csrf_token": token(outsider, "/queues")})
    assert r.status_code == 404
    assert "核查了遮挡请求：照片无需遮挡" in sup.get(f"/reports/{body['id']}").text
