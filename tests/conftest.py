"""Fixtures: a fresh PostGIS test database, the app on it, a live HTTP server, the demo district."""
import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from service import create_app
from service.core import migrate
from service.core.db import db
from service.core.models import Area
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, PageLog
from tests.support.clock import EDGE_IDS, EDGE_RUNS, process_zone, stopped_at_edge
from tests.support.database import app_url, owner_url, recreate_database
from tests.support.live import PASSWORD, LiveSession
from tests.support.paths import SHARED_DATA

# Fixtures that tests in several modules use, each defined beside the helpers it needs.
pytest_plugins = [
    "tests.support.boundary_import_page",
    "tests.support.dashboard",
    "tests.support.hotline_figures",
    "tests.support.inspections",
    "tests.support.map_tiles",
    "tests.support.notifications",
    "tests.support.sites",
]

# No property test may fail for being slow (Hypothesis's default 200 ms deadline and too_slow check time
# each example on the wall clock): a loaded CI machine is not a bug.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A fresh database migrated to head; a missing server fails loudly."""
    url = owner_url()
    recreate_database(url)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def app_database_url(database_url) -> str:
    """The test database as the application's own role, which owns nothing (as in `make run`)."""
    url = app_url(database_url)
    migrate.grant_app_role(database_url, make_url(url).username, make_url(url).password)
    return url


@pytest.fixture(scope="session")
def owner_engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="session")
def app(database_url, app_database_url, owner_engine, photo_dir):
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app_database_url, "DATABASE_OWNER_URL": database_url,
        "PHOTO_DIR": str(photo_dir),
        "PUBLIC_REPORTS_PER_HOUR": 100_000, "PUBLIC_REPORTS_PER_MINUTE": 100_000, "WTF_CSRF_ENABLED": True,
        "OUTBOUND_ALLOW_HOSTS": frozenset({"127.0.0.1"}),  # the tests' robots and gateways listen there
    })
    with app.app_context():
        _load_demo(app)
    with owner_engine.begin() as conn:
        conn.execute(text("ANALYZE area"))  # only the owner may (the app role's ANALYZE is skipped)
    return app


def _load_demo(app) -> None:
    result = app.test_cli_runner().invoke(args=["demo-data", "--if-empty"])
    assert result.exit_code == 0, result.output


@pytest.fixture(autouse=True)
def _clean_reports(request, photo_dir):
    """Remove reports and photo files a test created (reports commit inside the service)."""
    yield
    if "app" not in request.fixturenames:
        return
    app, owner = request.getfixturevalue("app"), request.getfixturevalue("owner_engine")
    with app.app_context():
        db.session.rollback()
    with owner.begin() as conn:
        # report_event refuses TRUNCATE; a superuser may skip triggers for clean-up between tests.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE report, photo, report_event, notification, notification_attempt, area_contact,"
                          " login_failure, upload_attempt, verified_contact, body RESTART IDENTITY CASCADE"))
    for child in photo_dir.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture(scope="session")
def spot(app):
    """An interior point of a demo committee, with that committee and its town."""
    with app.app_context():
        area = db.session.scalars(select(Area).where(Area.level == "committee").order_by(Area.code)).first()
        pt = db.session.scalar(select(func.ST_AsText(func.ST_PointOnSurface(area.geom))).where(Area.id == area.id))
        lon, lat = (float(v) for v in pt[6:-1].split())
        return {"lon": lon, "lat": lat, "code": area.code, "name": area.name, "town": area.parent.code}


@pytest.fixture
def clock(request):
    """Stop the Python clock (every thread, the live server's too) for a test about times; move it with .shift().

    Only Python stops: PostgreSQL's now() in column defaults keeps running, so such a test compares only
    times the service computes in Python. A test marked `clock_edges` runs again with the clock at the day's
    edges in Asia/Shanghai and UTC and the process in another time zone (tests/support/clock.py).
    """
    run = getattr(request, "param", None)
    if run is None:
        with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
            yield traveller
        return
    edge, zone = run
    app = request.getfixturevalue("app")
    with process_zone(zone), stopped_at_edge(app, edge) as traveller:
        yield traveller


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("clock_edges"):
        assert "clock" in metafunc.fixturenames, f"{metafunc.definition.nodeid}: clock_edges needs the clock fixture"
        metafunc.parametrize("clock", [None, *EDGE_RUNS], ids=["now", *EDGE_IDS], indirect=True)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def accounts(app, spot) -> dict:
    """People of every role: in the spot's town and committee ("_a") and elsewhere ("_b"); name -> info."""
    from service.accounts import auth
    from service.core.models import User

    with app.app_context():
        committee = db.session.scalar(select(Area).where(Area.code == spot["code"]))
        town = committee.parent
        sibling = db.session.scalar(select(Area).where(Area.parent_id == town.id, Area.id != committee.id).limit(1))
        other_town = db.session.scalar(select(Area).where(Area.level == "town", Area.id != town.id).limit(1))
        elsewhere = db.session.scalar(select(Area).where(Area.parent_id == other_town.id).limit(1))
        plan = {"admin": ("district_admin", None), "sup_a": ("town_supervisor", town),
                "sup_b": ("town_supervisor", other_town), "staff_a": ("committee_staff", committee),
                "staff_sibling": ("committee_staff", sibling), "staff_b": ("committee_staff", elsewhere),
                "vol": ("volunteer", None), "vol2": ("volunteer", None)}
        people = {}
        for i, (name, (role, area)) in enumerate(plan.items()):
            user = User(name=f"测试{name}", phone=f"1390000{i:04d}", role=role, area_id=area.id if area else None)
            auth.set_password(user, PASSWORD)
            db.session.add(user)
            db.session.flush()
            people[name] = {"id": user.id, "phone": user.phone, "role": role, "token": auth.issue_token(user),
                            "area": area.code if area else None}
        db.session.commit()
        people["sibling_code"], people["elsewhere_code"] = sibling.code, elsewhere.code
        return people


@pytest.fixture
def as_user(live_server, accounts):
    """Open a real-HTTP session authenticated with a person's bearer token."""
    opened = []

    def open_session(name: str) -> LiveSession:
        opened.append(LiveSession(live_server, accounts[name]["token"]))
        return opened[-1]

    yield open_session
    for s in opened:
        s.close()


@pytest.fixture
def http(live_server, accounts):
    """A real-HTTP session signed in as the district admin (sees everything)."""
    with LiveSession(live_server, accounts["admin"]["token"]) as s:
        yield s


@pytest.fixture
def anon_http(live_server):
    """A real-HTTP session with no account (a resident using 随手拍)."""
    with LiveSession(live_server) as s:
        yield s


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip saying where it was looked for (it sits beside the clone, not in it)."""
    if not (SHARED_DATA / "minhang_towns_wgs84.geojson").is_file():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (only present beside the project's clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """open_page(path, fake_clock=False, **context_options) -> (page, log): a fresh offline context on the live
    server; fake_clock installs Playwright's clock so a test moves the page's timers on instead of waiting."""
    contexts = []

    def open_(path: str, fake_clock: bool = False, **options):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 700}, **options)
        context.set_default_timeout(TIMEOUT_MS)
        if fake_clock:  # the page's timers run when the test says (page.clock.run_for), not after a real wait
            context.clock.install()
        contexts.append(context)
        log = PageLog()

        def gate(route):
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                return route.continue_()
            log.blocked.append(route.request.url)
            return route.abort("internetdisconnected")

        context.route("**/*", gate)
        page = context.new_page()
        page.on("pageerror", lambda exc: log.errors.append(str(exc)))
        page.on("console", lambda m: m.type == "error" and log.console.append((m.text, m.location.get("url", ""))))
        page.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))
        response = page.goto(live_server + path, wait_until="load")
        assert response.status == 200
        return page, log

    yield open_
    for context in contexts:
        context.close()


# Each folder of tests says what its tests need; a test that reaches for more belongs in another folder.
# browser/ and system/ (several processes: gunicorn nodes, PgBouncer, a replica, backups) may use anything.
FOLDER_REFUSES = {
    "unit": {"database_url", "app", "live_server", "browser"},  # pure code and the tree's own files
    "db": {"live_server", "browser"},                           # PostgreSQL and the app in-process
    "http": {"browser"},                                        # + the live HTTP server
}


def pytest_collection_modifyitems(config, items):
    wrong = []
    for item in items:
        folder = Path(item.path).relative_to(Path(__file__).parent).parts[0]
        refused = FOLDER_REFUSES.get(folder, set()) & set(getattr(item, "fixturenames", ()))
        if refused:
            wrong.append(f"{item.nodeid} uses {', '.join(sorted(refused))}, which tests/{folder}/ does not have")
    if wrong:
        raise pytest.UsageError("tests in the wrong folder:\n  " + "\n  ".join(wrong))
