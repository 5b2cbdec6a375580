"""What checking a request body by its schema costs, beside the hand-written checks it replaced, in one run.

service/web/jsonbody.checked() validates a body against its marshmallow schema (service/apidocs/bodies.py); before
28 the views tested the same shapes with isinstance chains. Both are timed here on the same bodies (a transition,
a campaign, an hours entry), in process, and the ratio printed; nothing about speed is asserted.

    .venv/bin/python -m bench.bodies
"""
import argparse
import statistics
import time

from service.apidocs import bodies
from service.web.jsonbody import checked

MOVE = {"to": "dispatched", "note": "请尽快处理" * 20, "assignee_id": 17}
CAMPAIGN = {"title": "十二月 电动自行车", "starts_on": "2026-12-01", "ends_on": "2026-12-31", "guidance": "楼道充电",
            "focus_categories": ["ebike_charging"], "focus_site_kinds": [], "target_towns": ["310112001"]}
HOURS = {"hours": 2.5, "date": "2026-12-01", "note": "巡查", "corrects": 3}


def hand_move(body) -> None:  # the view's check before 28 (service/reports/api.py at d10c6e9)
    if not isinstance(body, dict) or not isinstance(body.get("to"), str) or any(
            not isinstance(body.get(k) or "", str) for k in ("note", "duplicate_of")) or not isinstance(
            body.get("assignee_id") or "", int | str) or isinstance(body.get("assignee_id"), bool):
        raise ValueError
    if len(body.get("note") or "") > 2000:
        raise ValueError


def hand_campaign(body) -> None:  # the type checks service/sites/campaigns.create makes
    if not isinstance(body.get("title"), str) or len(body["title"]) > 100 or not isinstance(body.get("guidance"), str):
        raise ValueError
    for key in ("focus_categories", "focus_site_kinds", "target_towns"):
        if not isinstance(body.get(key), list) or not all(isinstance(v, str) for v in body[key]):
            raise ValueError


def hand_hours(body) -> None:  # the type checks of service/volunteers/ledger.parse_entry
    if isinstance(body.get("hours"), bool) or not isinstance(body.get("hours"), int | float | str):
        raise ValueError
    if not isinstance(body.get("corrects"), int) or len(body.get("note") or "") > 2000:
        raise ValueError


def per_call_us(fn, runs: int) -> float:
    rounds = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(runs):
            fn()
        rounds.append((time.perf_counter() - start) / runs * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    runs = parser.parse_args().runs
    print(f"{'body':10} {'schema µs':>10} {'by hand µs':>11} {'ratio':>7}")
    for name, schema, sent, hand in (("move", bodies.Move, MOVE, hand_move),
                                     ("campaign", bodies.NewCampaign, CAMPAIGN, hand_campaign),
                                     ("hours", bodies.NewHours, HOURS, hand_hours)):
        ours = per_call_us(lambda s=schema, b=sent: checked(s, b), runs)
        theirs = per_call_us(lambda h=hand, b=sent: h(b), runs)
        print(f"{name:10} {ours:10.1f} {theirs:11.2f} {ours / theirs:6.0f}x")


if __name__ == "__main__":
    main()
