"""Volunteer profiles for the accounts fixture's people, and clean-up of the append-only ledger between tests."""
from sqlalchemy import text

ROSTER_PHONE_PREFIX = "177"  # phones of volunteers created by roster imports in tests


def make_profiles(accounts, owner_engine) -> dict[str, int]:
    """Profiles: vol and vol2 in the spot's committee, vol_sib in its sibling, vol_far elsewhere; name -> id."""
    plan = {"vol": accounts["vol"]["id"], "vol2": accounts["vol2"]["id"]}
    with owner_engine.begin() as conn:
        for name, phone in (("vol_sib", "17600000001"), ("vol_far", "17600000002")):
            plan[name] = conn.scalar(text(
                "INSERT INTO \"user\" (name, phone, role) VALUES (:n, :p, 'volunteer') RETURNING id"),
                {"n": f"测试{name}", "p": phone})
        codes = {"vol": accounts["staff_a"]["area"], "vol2": accounts["staff_a"]["area"],
                 "vol_sib": accounts["sibling_code"], "vol_far": accounts["elsewhere_code"]}
        for name, uid in plan.items():
            # Joined well before any hours a test records (the ledger refuses days before joining).
            conn.execute(text("INSERT INTO volunteer (user_id, real_name, committee_code, team, skills, created_at)"
                              " VALUES (:id, :n, :c, '七宝志愿服务队', ARRAY['电工'], now() - interval '3 years')"),
                         {"id": uid, "n": f"志愿者{name}", "c": codes[name]})
    return plan


def clear_volunteers(owner_engine) -> None:
    with owner_engine.begin() as conn:
        # The ledger refuses DELETE and TRUNCATE; a superuser may skip triggers for clean-up between tests.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE service_hour_decision, service_hour_entry, volunteer RESTART IDENTITY CASCADE"))
        conn.execute(text("DELETE FROM \"user\" WHERE phone LIKE '176%' OR phone LIKE :p"),
                     {"p": ROSTER_PHONE_PREFIX + "%"})
