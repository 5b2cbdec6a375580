"""A note has one limit and one behaviour everywhere (28): more than MAX_NOTE characters is a 422 that says so
and changes nothing, on the API and on the pages alike; before, several paths cut the note short silently."""
import re

from service.core.fields import MAX_NOTE
from tests.support.reports_api import post
from tests.support.workflow_api import move

LONG = "备" * (MAX_NOTE + 1)
SAID = f"备注必须是不超过 {MAX_NOTE} 字的文本"


def sent(http, spot) -> str:
    r = post(http, lon=spot["lon"], lat=spot["lat"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def history(session, rid) -> tuple[str, str, int]:
    body = session.get(f"/api/v1/reports/{rid}").json()
    return body["status"], body["risk_level"], len(body["events"])


def test_a_note_one_character_too_long_is_refused_on_every_api_path(http, as_user, spot):
    sup = as_user("sup_a")
    rid = sent(http, spot)
    before = history(sup, rid)
    for path, body in ((f"/api/v1/reports/{rid}/transitions", {"to": "accepted", "note": LONG}),
                       (f"/api/v1/reports/{rid}/risk", {"risk_level": "major", "note": LONG}),
                       (f"/api/v1/reports/{rid}/reassign", {"committee": spot["code"], "note": LONG}),
                       (f"/api/v1/reports/{rid}/site", {"site": None, "note": LONG})):
        r = sup.post(path, json=body)
        assert r.status_code == 422 and SAID in r.json()["error"]["message"], (path, r.status_code, r.text[:200])
    assert history(sup, rid) == before  # nothing moved, re-graded or written to the history
    exact = move(sup, rid, "accepted", note="备" * MAX_NOTE)
    assert exact.status_code == 200 and exact.json()["events"][-1]["note"] == "备" * MAX_NOTE


def test_the_pages_refuse_it_too_and_say_so(http, as_user, spot):
    sup = as_user("sup_a")
    rid = sent(http, spot)
    page = sup.get(f"/reports/{rid}").text
    assert f'maxlength="{MAX_NOTE}"' in page  # the browser stops at the same limit
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = sup.post(f"/reports/{rid}/move", data={"csrf_token": token, "to": "accepted", "note": LONG})
    assert r.status_code == 422 and SAID in r.text
    r = sup.post("/queues/bulk", data={"csrf_token": token, "to": "accepted", "note": LONG, "ids": [rid]})
    assert r.status_code == 200 and SAID in r.text  # the queue page again, with the refusal
    assert history(sup, rid)[0] == "submitted"
