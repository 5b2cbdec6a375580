"""The rectification workflow: statuses, their labels, and the one transition table (who may move what)."""
from flask_babel import lazy_gettext as _l

from service.rules.roles import SUPERVISORS

STATUS_LABELS = {
    "submitted": _l("待受理"),
    "accepted": _l("已受理"),
    "rejected": _l("不予受理"),
    "duplicate": _l("重复"),
    "dispatched": _l("已派单"),
    "rectifying": _l("整改中"),
    "rectified": _l("已整改"),
    "verified": _l("已核查/结案"),
    "transferred": _l("已转派"),
}

SUPERVISE = SUPERVISORS
RECTIFY = frozenset({"committee_staff"})
# Not an account role: the volunteer a report is dispatched to, acting on that one report only (roles_of).
ASSIGNEE = "assignee"
# Not an account role either: committee staff checking a rectification their volunteer recorded (never their own).
CHECKER = "checker"
# Not an account role: the body outside the programme a report is transferred to (转派), acting through its
# channel (service/bodies): it finishes the work or returns the report.
BODY = "body"
# Not an account role: the resident of a hotline order answering the call-back (回访, service/hotline) with 不满意
# and a reason, which reopens the verified report once for the town to check again (复核).
RESIDENT = "resident"
# Who may hand a report to a body, or take it back.
TRANSFER = SUPERVISE
# Who may re-grade a report's risk level (the reporter's choice is a suggestion); not a status move.
REGRADE = SUPERVISE

# from-status -> {to-status: roles allowed to make that move}.
# rectified -> rectifying is 复查不合格: the supervisor sends the work back.
# The assignee accepts (接单) by starting the work, declines by handing the report back to be dispatched again,
# and may report it rectified; the town, or the committee's staff as CHECKER, then verify it or send it back.
# A report not the programme's to fix is transferred (转派) to the body that owns it; the body finishes it
# (transferred -> rectified, verified by the town as any rectification) or returns it (退回), and the town may
# take it back (收回): both lead back to the town's dispatch queue.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "submitted": {"accepted": SUPERVISE, "rejected": SUPERVISE, "duplicate": SUPERVISE, "transferred": TRANSFER},
    "accepted": {"dispatched": SUPERVISE, "transferred": TRANSFER},
    "dispatched": {"rectifying": RECTIFY | {ASSIGNEE}, "accepted": frozenset({ASSIGNEE}), "transferred": TRANSFER},
    "transferred": {"rectified": frozenset({BODY}), "accepted": TRANSFER | {BODY}},
    "rectifying": {"rectified": RECTIFY | {ASSIGNEE}},
    "rectified": {"verified": SUPERVISE | {CHECKER}, "rectifying": SUPERVISE | {CHECKER}},
    "rejected": {},
    "duplicate": {},
    "verified": {"rectified": frozenset({RESIDENT})},
}

# The deadline of a send-back (rectified -> rectifying, 复查不合格). The deadline measures the committee and
# whoever it dispatched the work to, so only a supervisor's own check starts a new period (and escalation starts
# over). When the committee's staff send back their volunteer's work (CHECKER), the period in force resumes with
# its deadline and escalation as they were: a committee and its volunteer passing an overdue report back and
# forth can never make it fresh, and the town hears of it as soon as it is overdue, once.
RESTARTS_PERIOD = SUPERVISE

# A status is closed when no one has work to do in it: the resident's re-check request is no work of the staff's.
CLOSED = frozenset(s for s, targets in TRANSITIONS.items() if not any(r - {RESIDENT} for r in targets.values()))
OPEN = frozenset(TRANSITIONS) - CLOSED
# The deadline clock runs in these statuses; it stops once the work is reported done, and while a body outside
# the programme holds the report (the body's own deadlines run then: service/bodies).
CLOCK_RUNNING = OPEN - {"rectified", "transferred"}
# OPEN as an SQL list literal: a partial index is only used when the query repeats its predicate literally.
STATUSES_SQL = ", ".join(f"'{s}'" for s in TRANSITIONS)
OPEN_SQL = ", ".join(f"'{s}'" for s in sorted(OPEN))
CLOSED_SQL = ", ".join(f"'{s}'" for s in sorted(CLOSED))
CLOCK_RUNNING_SQL = ", ".join(f"'{s}'" for s in sorted(CLOCK_RUNNING))
# Each move's wording for people (events, notifications, buttons).
ACTION_LABELS = {
    ("submitted", "accepted"): _l("受理"),
    ("submitted", "rejected"): _l("不予受理"),
    ("submitted", "duplicate"): _l("标记为重复"),
    ("accepted", "dispatched"): _l("派单"),
    ("dispatched", "rectifying"): _l("开始整改"),
    ("rectifying", "rectified"): _l("整改完成"),
    ("rectified", "verified"): _l("核查通过"),
    ("rectified", "rectifying"): _l("复查不合格，退回整改"),
    ("dispatched", "accepted"): _l("拒绝接单，退回派单人"),
    ("submitted", "transferred"): _l("转派"),
    ("accepted", "transferred"): _l("转派"),
    ("dispatched", "transferred"): _l("转派"),
    ("transferred", "accepted"): _l("收回转派，重新派单"),
    ("transferred", "rectified"): _l("转派单位办结"),
    ("verified", "rectified"): _l("回访不满意，重新核查"),
}
# The same move in the assignee's words, where they differ.
ASSIGNEE_LABELS = {("dispatched", "rectifying"): _l("接单")}


def allowed(from_status: str, to_status: str) -> bool:
    """Tell whether the table has this move at all."""
    return to_status in TRANSITIONS.get(from_status, {})


def checks_rectifier(user, report) -> bool:
    """Tell whether roles_of needs to know who recorded the report's rectification for this user."""
    return (user is not None and user.role == "committee_staff" and report.status == "rectified"
            and report.assignee_id is not None)


def roles_of(user, report, rectified_by: int | None = None) -> frozenset[str]:
    """The roles a user plays for one report: their account's, plus ASSIGNEE for the volunteer it is dispatched to,
    or CHECKER for committee staff when that volunteer recorded the rectification (rectified_by, the user id of
    who did; staff never check their own)."""
    if user is None:
        return frozenset()
    if user.role == "volunteer" and report.assignee_id is not None and report.assignee_id == user.id:
        return frozenset({user.role, ASSIGNEE})
    if checks_rectifier(user, report) and rectified_by == report.assignee_id:
        return frozenset({user.role, CHECKER})
    return frozenset({user.role})


def send_back_restarts(roles: frozenset[str]) -> bool:
    """Tell whether a send-back by someone playing these roles starts a new deadline period (RESTARTS_PERIOD)."""
    return bool(roles & RESTARTS_PERIOD)


def may(roles: frozenset[str], from_status: str, to_status: str) -> bool:
    """Tell whether someone playing these roles may make this move."""
    return bool(roles & TRANSITIONS.get(from_status, {}).get(to_status, frozenset()))


def moves_for(roles: frozenset[str], status: str) -> list[str]:
    """Return the statuses someone playing these roles may move a report to from its current status."""
    return [to for to, allowed_roles in TRANSITIONS.get(status, {}).items() if roles & allowed_roles]


def action_label(from_status: str, to_status: str, roles: frozenset[str]):
    """A move's button wording for someone playing these roles."""
    if ASSIGNEE in roles and (from_status, to_status) in ASSIGNEE_LABELS:
        return ASSIGNEE_LABELS[(from_status, to_status)]
    return ACTION_LABELS[(from_status, to_status)]
