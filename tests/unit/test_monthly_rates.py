"""The monthly report prints a rate rounded once, from its counts: the JSON's 4-decimal rate rounded again would
print 30.2 % for 30.252 % (found as a flaky district-report test whose random month hit such a count)."""
from service.dashboard import monthly, monthly_render


def test_a_rate_is_rounded_once_as_printed():
    figures = {"rectified_on_time": 30_252, "rectified_late": 40_000, "overdue": 29_748}  # 30.252 % on time
    assert monthly_render.shown("rate", round(30_252 / 100_000, 4)) == "30.2%"  # the JSON's figure, twice rounded
    assert monthly_render.shown("rate", monthly._on_time_rate(figures)) == "30.3%"
    assert monthly._on_time_rate({"rectified_on_time": 0, "rectified_late": 0, "overdue": 0}) is None
    assert monthly._ratio(1, 3) == 1 / 3 and monthly._ratio(0, 0) is None
