"""The account roles, stated once: the user table's CHECK constraint, the CLI's choices and every role test."""
from flask_babel import lazy_gettext as _l

ROLES = ("volunteer", "committee_staff", "town_supervisor", "district_admin")
# Everyone who works a queue: what a volunteer or a resident may not see (profiles, registers, figures).
STAFF = frozenset(ROLES[1:])
# Who supervises a town or the district: dispatch, verify, re-grade, re-assign.
SUPERVISORS = frozenset({"town_supervisor", "district_admin"})
ROLES_SQL = ", ".join(f"'{r}'" for r in ROLES)
# Each role's name for people (the monthly report's author, the access log).
ROLE_LABELS = {"volunteer": _l("志愿者"), "committee_staff": _l("居村委工作人员"), "town_supervisor": _l("街镇督导"),
               "district_admin": _l("区级管理员")}
