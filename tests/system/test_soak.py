"""The soak in its 2-minute form (bench/soak.py; the closing note reports a 30-minute run on 10^6 reports):
mixed load through gunicorn and PgBouncer while the primary crashes and its synchronous standby is promoted,
then while revision 0037 is applied and the workers replaced. Every acknowledged report is on the new primary
exactly once, and no answer was a 5xx other than a 503 during a fault."""
from bench import soak


def test_two_minutes_of_load_through_a_failover_and_a_rolling_upgrade():
    result = soak.run(minutes=2, reports=5000, clients=6, think_s=0.3, tick_s=20, failover_at=40, upgrade_at=80)
    assert result["fault_error"] == ""
    assert result["acknowledged"] > 20
    assert result["lost"] == 0 and result["doubled_or_changed"] == 0
    assert result["unexpected_5xx"] == 0 and result["503_or_cut_outside_faults"] == 0
    assert result["failover"]["gap_s"] is not None  # uploads were acknowledged by the promoted standby
    upgrade = result["upgrade"]
    assert upgrade["workers_replaced"] and upgrade["longest_report_lock_wait_s"] < 1.0, upgrade
    assert result["reports_without_local_day"] == 0  # the backfill and the trigger left no row behind
