"""The programme's rules, stated once and free of queries: roles, hazard categories, the workflow table."""
