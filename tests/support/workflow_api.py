"""Helpers first written for tests/http/test_workflow_api.py, now shared by several test modules."""

from tests.support.images import jpeg


def move(session, report_id, to, note="", **extra):
    return session.post(f"/api/v1/reports/{report_id}/transitions", json={"to": to, "note": note} | extra)


def rectify(session, report_id, note="修好了"):
    files = [("photo", ("after.jpg", jpeg(colour=(30, 160, 30)), "image/jpeg"))]
    return session.post(f"/api/v1/reports/{report_id}/transitions", data={"to": "rectified", "note": note},
                        files=files)


def walk(as_user, report_id, path):
    """Apply moves, each by the role the table requires, and return the last response."""
    sup, staff = as_user("sup_a"), as_user("staff_a")
    r = None
    for to in path:
        r = rectify(staff, report_id) if to == "rectified" else move(
            staff if to == "rectifying" and r is not None and r.json()["status"] == "dispatched" else sup,
            report_id, to, note=f"to {to}")
        assert r.status_code == 200, (to, r.text)
    return r
