"""Property-based contract test: schemathesis drives every /api/v1 operation through the app's WSGI interface
with inputs generated from /api/v1/openapi.json; every answer must match the description and none may be a 5xx.

Path ids are drawn from real rows half of the time (a report, a volunteer), so the workflow, not only the 404,
meets generated bodies. Bounded (MAX_EXAMPLES per operation and caller) so `make test` stays within a few
minutes. The operations are looped over inside the test rather than through schemathesis's pytest plugin,
whose fixture support reads a pytest-internal attribute that pytest 9 no longer has.
"""
import io

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from .images import jpeg

MAX_EXAMPLES = {"admin": 15, "vol": 6, None: 6}


def _check(operation, headers: dict, real_ids: dict, examples: int) -> str | None:
    """Run one operation's examples; the first failure's text, or None."""
    strategy = operation.as_strategy()
    names = [n for n in real_ids if f"{{{n}}}" in operation.path]
    if names:
        strategy = st.tuples(strategy, st.booleans()).map(lambda drawn: _real(drawn, names, real_ids))

    @given(case=strategy)
    @settings(max_examples=examples, suppress_health_check=list(HealthCheck), deadline=None, database=None)
    def run(case):
        # A schema-valid request may still be refused: rules across fields (lon needs lat, a span needs its
        # end) and the photo's bytes are checked by the service, not expressible in the description.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    try:
        run()
    except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - every operation is tried, all failures shown
        return f"{operation.label}: {e}"
    return None


def _real(drawn, names, real_ids):
    case, use_real = drawn
    if use_real:
        for name in names:
            case.path_parameters[name] = real_ids[name]
    return case


@pytest.mark.parametrize("who", ["admin", "vol", None])
def test_every_answer_matches_the_description(app, accounts, spot, who):
    client = app.test_client()
    created = client.post("/api/v1/reports", data={
        "category": "combustibles", "lon": spot["lon"], "lat": spot["lat"], "description": "楼道堆放纸箱",
        "photo": (io.BytesIO(jpeg()), "a.jpg")},
        headers={"Authorization": f"Bearer {accounts['admin']['token']}"}, content_type="multipart/form-data")
    assert created.status_code == 201
    real_ids = {"report_id": created.get_json()["id"], "volunteer_id": str(accounts["vol"]["id"])}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {accounts[who]['token']}"} if who else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17  # schemathesis leaves out the description itself
    failures = [f for op in operations if (f := _check(op, headers, real_ids, MAX_EXAMPLES[who]))]
    assert failures == [], "\n\n".join(failures)
