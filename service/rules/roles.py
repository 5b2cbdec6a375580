"""The account roles, stated once: the user table's CHECK constraint, the CLI's choices and every role test."""

ROLES = ("volunteer", "committee_staff", "town_supervisor", "district_admin")
# Everyone who works a queue: what a volunteer or a resident may not see (profiles, registers, figures).
STAFF = frozenset(ROLES[1:])
# Who supervises a town or the district: dispatch, verify, re-grade, re-assign.
SUPERVISORS = frozenset({"town_supervisor", "district_admin"})
ROLES_SQL = ", ".join(f"'{r}'" for r in ROLES)
