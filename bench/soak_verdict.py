"""The soak's faults on their schedule and its verdict (bench/soak.py): the failover's gap and what waited across
it, the upgrade's lock waits, and every count that must be 0."""
import json
import statistics
import threading
import time
from pathlib import Path

import psycopg
import requests

from bench import soak_rig

FAULT_GRACE_S = 15  # answers this long after a fault ended still count as during it


class Faults(threading.Thread):
    """The failover at one time and the rolling upgrade at another, with /healthz polled through the failover."""

    def __init__(self, started: float, failover_at: float | None, upgrade_at: float | None, pair, bouncer, env,
                 server):
        super().__init__(daemon=True)
        self.started, self.failover_at, self.upgrade_at = started, failover_at, upgrade_at
        self.pair, self.bouncer, self.env, self.server = pair, bouncer, env, server
        self.windows: list[tuple[str, float, float]] = []
        self.health: list[tuple[float, int | None]] = []
        self.upgrade: dict = {}
        self.error = ""

    def _at(self, seconds: float) -> None:
        time.sleep(max(0.0, self.started + seconds - time.monotonic()))

    def _poll_health(self, until: float) -> None:
        while time.monotonic() < until:
            try:
                status = requests.get(self.server.base + "/healthz", timeout=5).status_code
            except requests.RequestException:
                status = None
            self.health.append((time.monotonic(), status))
            time.sleep(0.5)

    def run(self) -> None:
        try:
            for name, at in sorted(((n, a) for n, a in (("failover", self.failover_at), ("upgrade", self.upgrade_at))
                                    if a is not None), key=lambda p: p[1]):
                self._at(at)
                began = time.monotonic()
                if name == "failover":
                    poller = threading.Thread(target=self._poll_health, args=(began + 40,), daemon=True)
                    poller.start()
                    self.pair.crash_and_promote()
                    self.bouncer.point(self.pair.port())
                else:
                    self.upgrade = soak_rig.rolling_upgrade(self.pair, self.env, self.server)
                self.windows.append((name, began, time.monotonic()))
                shown = self.upgrade if name == "upgrade" else ""
                print(f"---- {name} done in {time.monotonic() - began:.1f} s {shown}", flush=True)
        except Exception as e:  # noqa: BLE001 - reported in the verdict, the load goes on
            self.error = f"{type(e).__name__}: {e}"
            print(f"---- fault failed: {self.error}", flush=True)


def in_fault(s, windows) -> bool:
    return any(began <= s.ended and s.started <= ended + FAULT_GRACE_S for _n, began, ended in windows)


def failover_figures(load, faults: Faults) -> dict:
    """The gap: from the crash to the first upload acknowledged after it; the requests that waited across it."""
    window = next(((b, e) for n, b, e in faults.windows if n == "failover"), None)
    if window is None:
        return {}
    crash, done = window
    after = [s.ended for s in load.samples if s.kind == "upload" and s.status in (200, 201) and s.started >= crash]
    gap = (min(after) - crash) if after else None
    waited = [s for s in load.samples if s.started <= (min(after) if after else done) and s.ended >= crash]
    health = [status for t, status in faults.health]
    runs: list = []
    for status in health:
        if runs and runs[-1][0] == status:
            runs[-1][1] += 1
        else:
            runs.append([status, 1])
    return {"gap_s": round(gap, 1) if gap is not None else None, "requests_across_it": len(waited),
            "of_which_503_or_cut": sum(1 for s in waited if s.status in (503, None)),
            "healthz": " -> ".join(f"{status or 'no answer'} x{n}" for status, n in runs)}


def verdict(load, faults: Faults, rows: list[dict], owner_url: str, minutes: float, kinds) -> dict:
    with psycopg.connect(soak_rig.plain(owner_url)) as conn:
        stored: dict[str, list[str]] = {}
        for client_id, rid in conn.execute("SELECT client_report_id, id::text FROM report "
                                           "WHERE client_report_id LIKE 'soak-%'"):
            stored.setdefault(client_id, []).append(rid)
        no_day = conn.execute("SELECT count(*) FROM report WHERE local_day IS NULL").fetchone()[0] \
            if faults.upgrade else None
    result = {
        "acknowledged": len(load.acked),
        "lost": sum(1 for c in load.acked if c not in stored),
        "doubled_or_changed": sum(1 for c, r in load.acked.items() if c in stored and stored[c] != [r]),
        "unexpected_5xx": sum(1 for s in load.samples if s.status and s.status >= 500 and s.status != 503),
        "503_or_cut_outside_faults": sum(1 for s in load.samples if s.status in (503, None)
                                         and not in_fault(s, faults.windows)),
        "4xx": sum(1 for s in load.samples if s.status and 400 <= s.status < 500),
        "reports_without_local_day": no_day, "fault_error": faults.error,
        "failover": failover_figures(load, faults), "upgrade": faults.upgrade,
    }
    steady = [r for r in rows if r["tick"] >= 5 and r["rss"]]
    if minutes >= 12 and steady:
        means = [statistics.mean(r["rss"]) for r in steady]
        result["rss_spread"] = round(max(means) / min(means) - 1, 3)
        early = [r for r in rows if 2 <= r["tick"] <= 6]
        late = rows[-5:]
        result["p95_late_over_early"] = {k: round(max(r["kinds"][k][2] for r in late if k in r["kinds"]) /
                                                  max(r["kinds"][k][2] for r in early if k in r["kinds"]), 2)
                                         for k in kinds if any(k in r["kinds"] for r in early)
                                         and any(k in r["kinds"] for r in late)}
    return result


def passed(result: dict) -> bool:
    hard = (result["acknowledged"] > 0 and not result["lost"] and not result["doubled_or_changed"]
            and not result["unexpected_5xx"] and not result["503_or_cut_outside_faults"] and not result["fault_error"]
            and (result["upgrade"].get("longest_report_lock_wait_s", 0) < 1.0)
            and result["reports_without_local_day"] in (None, 0))
    soft = ("rss_spread" not in result or result["rss_spread"] <= 0.10) and all(
        v <= 1.5 for v in result.get("p95_late_over_early", {}).values())
    return hard and soft


def errors_logged(log: Path) -> str:
    """Each distinct error the server logged: its message and the exception's last line, counted."""
    seen: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") == "ERROR":
            lines = (entry.get("exception") or "").splitlines()
            ours = [x.strip() for x in lines if x.strip().startswith("File") and "/service/" in x][-1:] or [""]
            why = [x for x in lines if "Error" in x and not x.startswith(" ")][-1:] or [""]
            key = f"{entry.get('message')}: {why[0][:200]} at {ours[0][-120:]}"
            seen[key] = seen.get(key, 0) + 1
    return "\n".join(f"  {n} x {key}" for key, n in seen.items())
