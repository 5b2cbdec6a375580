"""Configuration read from the environment, with defaults that work on a fresh machine."""
import json
import os
from pathlib import Path

from service.core.tiles import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _pairs(raw: str, value) -> dict:
    """'a:x,b:y' as {'a': value('x'), 'b': value('y')}."""
    return {k.strip(): value(v.strip()) for k, v in (p.split(":", 1) for p in raw.split(",") if ":" in p)}


def _secret_key() -> str | None:
    """SECRET_KEY from the environment, else from SECRET_KEY_FILE (default var/secret_key, made by `make run`)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(os.environ.get("SECRET_KEY_FILE") or ROOT / "var" / "secret_key")
    if not path.is_file():
        return None
    return path.read_text().strip() or None


class Config:
    """Settings for one app instance; every field can be overridden by an env var of the same name."""

    def __init__(self) -> None:
        env = os.environ.get
        self.SQLALCHEMY_DATABASE_URI = env(
            "DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5439/hazard_snap?passfile={ROOT}/var/pg/pgpass"
        )  # the private cluster's owner (.ci/postgis.sh url); `make run` sets the app role's
        # Migrations and grants run as the schema owner; the app itself connects as a role that owns nothing.
        self.DATABASE_OWNER_URL = env("DATABASE_OWNER_URL") or self.SQLALCHEMY_DATABASE_URI
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # DATABASE_URL goes through PgBouncer in transaction mode: no prepared statements (service/core/db.py).
        self.DATABASE_POOLED = env("DATABASE_POOLED", "0") in ("1", "true", "yes")
        # Tiles, stats and exports read from this streaming replica; whoever just wrote reads from the primary
        # for REPLICA_STICKY_S seconds (service/ops/replica.py).
        self.DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", "")
        self.REPLICA_STICKY_S = _float("REPLICA_STICKY_S", 15.0)
        # Only HAZARD_ENV=development relaxes anything; unset means production (fail closed).
        self.HAZARD_ENV = env("HAZARD_ENV", "production")
        self.SECRET_KEY = _secret_key()  # create_app refuses to start without one outside development/tests
        self.SESSION_COOKIE_SECURE = env("SESSION_COOKIE_SECURE", "0") in ("1", "true", "yes")  # else: by scheme
        self.API_TOKEN_DAYS = _int("API_TOKEN_DAYS", 90)
        # Sign-in sessions end after this long unused, and this long after signing in (service/accounts/sessions.py).
        self.STAFF_SESSION_IDLE_HOURS = _float("STAFF_SESSION_IDLE_HOURS", 8)
        self.STAFF_SESSION_MAX_DAYS = _float("STAFF_SESSION_MAX_DAYS", 7)
        self.VOLUNTEER_SESSION_DAYS = _float("VOLUNTEER_SESSION_DAYS", 30)
        self.PROXY_HOPS = _int("PROXY_HOPS", 0)  # reverse proxies in front (trust their X-Forwarded-For)
        # Strict-Transport-Security on HTTPS responses (service/security.py): a year; 0 sends none. Subdomains only
        # when every one of them is served over HTTPS too.
        self.HSTS_MAX_AGE = _int("HSTS_MAX_AGE", 365 * 86400)
        self.HSTS_INCLUDE_SUBDOMAINS = env("HSTS_INCLUDE_SUBDOMAINS", "0") in ("1", "true", "yes")
        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.PHOTO_DIR = env("PHOTO_DIR", str(ROOT / "var" / "photos"))
        # PHOTO_STORE=s3 keeps photos in S3_BUCKET (at S3_ENDPOINT_URL; AWS_* variables for the credentials).
        self.PHOTO_STORE = env("PHOTO_STORE", "local")
        self.S3_BUCKET = env("S3_BUCKET", "")
        self.S3_ENDPOINT_URL = env("S3_ENDPOINT_URL", "")
        self.MAX_PHOTO_BYTES = _int("MAX_PHOTO_MB", 20) * 1024 * 1024
        # Three full-size photos plus the form fields must fit in one request.
        self.MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_MB", 3 * self.MAX_PHOTO_BYTES // 2**20 + 2) * 1024 * 1024
        self.MAX_FORM_MEMORY_SIZE = 500 * 1024  # a multipart text field; file parts are spooled to disk
        self.MAX_PHOTO_PIXELS = _int("MAX_PHOTO_PIXELS", 64_000_000)
        # The report page shrinks photos to the public size before upload (service/photos/phone.py);
        # 0 keeps full-size uploads for districts that need the camera's own file.
        self.PHONE_RESIZE = env("PHONE_RESIZE", "1") not in ("0", "false", "no")
        # Hostile-input limits; service/photos/check.py and service/photos/sandbox.py say why these values.
        self.MAX_PIXELS_PER_BYTE = _int("MAX_PIXELS_PER_BYTE", 1000)
        self.MAX_JPEG_SCANS = _int("MAX_JPEG_SCANS", 100)
        self.MAX_PHOTO_FRAMES = _int("MAX_PHOTO_FRAMES", 16)
        self.DECODE_CPU_S = _int("DECODE_CPU_S", 4)
        self.DECODE_MEMORY_MB = _int("DECODE_MEMORY_MB", 768)
        self.DECODE_WALL_S = _float("DECODE_WALL_S", 15.0)
        self.DECODE_SLOTS = _int("DECODE_SLOTS", 4)
        # Faces in every published copy are blurred (service/photos/faces.py); 0 publishes them as taken.
        self.BLUR_FACES = env("BLUR_FACES", "1") not in ("0", "false", "no")
        self.FACE_CPU_S = _int("FACE_CPU_S", 4)
        self.FACE_MEMORY_MB = _int("FACE_MEMORY_MB", 512)
        self.FACE_WALL_S = _float("FACE_WALL_S", 10.0)
        self.MAX_JSON_BYTES = _int("MAX_JSON_BYTES", 64 * 1024)
        self.MAX_JSON_DEPTH = _int("MAX_JSON_DEPTH", 16)
        self.ASSIGN_MAX_DISTANCE_M = _float("ASSIGN_MAX_DISTANCE_M", 200.0)
        self.LOW_ACCURACY_M = _float("LOW_ACCURACY_M", 100.0)
        self.EXIF_FAR_M = _float("EXIF_FAR_M", 500.0)
        self.PHOTO_OLD_HOURS = _float("PHOTO_OLD_HOURS", 24.0)
        self.LOCAL_TIMEZONE = env("LOCAL_TIMEZONE", "Asia/Shanghai")  # EXIF times carry no zone
        self.DUPLICATE_RADIUS_M = _float("DUPLICATE_RADIUS_M", 50.0)
        self.DUPLICATE_WINDOW_DAYS = _int("DUPLICATE_WINDOW_DAYS", 30)
        # The detail page's "rectified here recently" list: verified reports this many days back.
        self.RECENT_VERIFIED_DAYS = _int("RECENT_VERIFIED_DAYS", 90)
        self.PHASH_MAX_BITS = _int("PHASH_MAX_BITS", 6)
        # A new report this close to one of its category verified this many days back is a recurrence (issue 9).
        self.RECURRENCE_RADIUS_M = _float("RECURRENCE_RADIUS_M", 30.0)
        self.RECURRENCE_WINDOW_DAYS = _int("RECURRENCE_WINDOW_DAYS", 90)
        # A resident's contact is erased this many days after their report closed (`hazard-snap privacy sweep`).
        self.CONTACT_RETENTION_DAYS = _int("CONTACT_RETENTION_DAYS", 180)
        # A new report inside a site's polygon, or this close to its point, is linked to the site. The site's risk
        # class raises the report's risk to at least a level, and scales its deadline ("class:value,...").
        self.SITE_LINK_DISTANCE_M = _float("SITE_LINK_DISTANCE_M", 30.0)
        self.SITE_RISK_FLOOR = _pairs(env("SITE_RISK_FLOOR", "high:major"), str)
        self.SITE_DEADLINE_FACTOR = _pairs(env("SITE_DEADLINE_FACTOR", "high:0.5"), float)
        # Inspections: a check-in farther than this from the site is refused; checklists per site kind as JSON
        # {"kind": ["item", ...]} replacing the defaults of service/sites/kinds.py.
        self.INSPECTION_CHECKIN_M = _float("INSPECTION_CHECKIN_M", 100.0)
        self.INSPECTION_CHECKLISTS = json.loads(env("INSPECTION_CHECKLISTS", "{}"))
        self.DEADLINE_HOURS = {
            "suspected_severe": _float("DEADLINE_SUSPECTED_SEVERE_H", 24),
            "major": _float("DEADLINE_MAJOR_H", 72),
            "general": _float("DEADLINE_GENERAL_H", 168),
        }
        self.ESCALATE_TO_DISTRICT_AFTER_H = _float("ESCALATE_TO_DISTRICT_AFTER_H", 48)
        self.PUBLIC_REPORTS = env("PUBLIC_REPORTS", "1") not in ("0", "false", "no")
        # Anonymous upload attempts per address, refused ones included (service/reports/attempts.py).
        self.PUBLIC_REPORTS_PER_HOUR = _int("PUBLIC_REPORTS_PER_HOUR", 30)
        self.PUBLIC_REPORTS_PER_MINUTE = _int("PUBLIC_REPORTS_PER_MINUTE", 6)
        # Guessed tracking links: misses per address within a window (service/receipts/misses.py).
        self.TRACKING_MISSES = _int("TRACKING_MISSES", 20)
        self.TRACKING_MISS_WINDOW_S = _int("TRACKING_MISS_WINDOW_S", 600)
        # One-time codes that confirm a resident's contact before any update goes there
        # (service/receipts/verification.py): lifetime, wrong entries allowed, and how many may be sent per report
        # (and how soon after the last), per address and in all, within a day.
        self.CONTACT_CODE_TTL_MIN = _int("CONTACT_CODE_TTL_MIN", 10)
        self.CONTACT_CODE_TRIES = _int("CONTACT_CODE_TRIES", 5)
        self.CONTACT_CODE_INTERVAL_S = _int("CONTACT_CODE_INTERVAL_S", 60)
        self.CONTACT_CODES_PER_REPORT = _int("CONTACT_CODES_PER_REPORT", 3)
        self.CONTACT_CODES_PER_ADDRESS = _int("CONTACT_CODES_PER_ADDRESS", 5)
        self.CONTACT_CODES_PER_DAY = _int("CONTACT_CODES_PER_DAY", 2000)
        # Open311 posts per api_key (service/open311/requests.py): an integration forwards many residents' reports,
        # so its limit is a platform's peak (a busy district sees a few hundred reports a day), not one person's.
        self.OPEN311_KEY_PER_MINUTE = _int("OPEN311_KEY_PER_MINUTE", 60)
        self.OPEN311_KEY_PER_HOUR = _int("OPEN311_KEY_PER_HOUR", 1000)
        # Anonymous Open311 reads per address (service/open311/api.py): a public map polls, a resident checks a few
        # requests; a caller with an api_key is not limited here.
        self.OPEN311_READS_PER_MINUTE = _int("OPEN311_READS_PER_MINUTE", 60)
        self.OPEN311_READS_PER_HOUR = _int("OPEN311_READS_PER_HOUR", 600)
        # Hosts (host or host:port, comma-separated) whose Open311 media_url may be fetched; empty: none is.
        self.OPEN311_MEDIA_HOSTS = frozenset(h.strip().lower() for h in env("OPEN311_MEDIA_HOSTS", "").split(",")
                                             if h.strip())
        self.OPEN311_MEDIA_TIMEOUT_S = _float("OPEN311_MEDIA_TIMEOUT_S", 10)
        # Star levels by approved cumulative service hours (the registered-volunteer rule): "100,300,600,1000,1500".
        self.VOLUNTEER_STAR_HOURS = tuple(float(h) for h in env("VOLUNTEER_STAR_HOURS", "100,300,600,1000,1500")
                                          .split(","))
        # Service hours credited (pending approval) to a volunteer whose hazard report is verified; 0 turns it off.
        self.REPORT_CREDIT_HOURS = _float("REPORT_CREDIT_HOURS", 0.5)
        # Service hours may be recorded for days at most this long ago (and never before the volunteer joined).
        self.HOURS_MAX_AGE_DAYS = _int("HOURS_MAX_AGE_DAYS", 365)
        # 三单 service orders: offers unanswered this long go back to the dispatcher (`hazard-snap orders escalate`);
        # check-in and check-out farther than this from the order's point are refused (service/orders/onsite.py).
        self.ORDER_ACCEPT_WITHIN_H = _float("ORDER_ACCEPT_WITHIN_H", 2.0)
        self.ORDER_CHECKIN_MAX_M = _float("ORDER_CHECKIN_MAX_M", 200.0)
        # A volunteer who took an order reads the resident's phone and address until it is completed plus this.
        self.ORDER_CONTACT_GRACE_H = _float("ORDER_CONTACT_GRACE_H", 24.0)
        self.LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
        self.LOGIN_WINDOW_MINUTES = _int("LOGIN_WINDOW_MINUTES", 15)
        self.SMTP_HOST = env("SMTP_HOST", "127.0.0.1")
        self.SMTP_PORT = _int("SMTP_PORT", 25)
        self.SMTP_FROM = env("SMTP_FROM", "hazard-snap@localhost")
        # A misrouted 12345 order may be returned to the hotline within this many hours of its arrival (退回).
        self.HOTLINE_RETURN_HOURS = _int("HOTLINE_RETURN_HOURS", 48)
        self.PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
        # Open311's jurisdiction_id: the district's division code (闵行区); any other is refused.
        self.OPEN311_JURISDICTION = env("OPEN311_JURISDICTION", "310112")
        # Hosts outbound requests may reach although they are loopback or private (service/core/outbound.py):
        # an SMS gateway or robot relay on the district's own network. Empty: public hosts only.
        self.OUTBOUND_ALLOW_HOSTS = frozenset(h.strip().lower() for h in env("OUTBOUND_ALLOW_HOSTS", "").split(",")
                                              if h.strip())
        self.SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", "")  # text messages to volunteers; empty: they wait
        # Prometheus scrapes /metrics with this bearer token; unset, /metrics does not exist (service/ops/metrics.py).
        self.METRICS_TOKEN = env("METRICS_TOKEN", "")
        self.LOG_LEVEL = env("LOG_LEVEL", "INFO")
        self.NOTIFY_TIMEOUT_S = _float("NOTIFY_TIMEOUT_S", 10)
        self.NOTIFY_BACKOFF_S = _float("NOTIFY_BACKOFF_S", 30)
        self.NOTIFY_MAX_BACKOFF_S = _float("NOTIFY_MAX_BACKOFF_S", 3600)
        # Base maps: the supervisors' map and the report page's WGS-84 choice, and the report page's GCJ-02 choice.
        self.MAP_TILES_URL = env("MAP_TILES_URL", PROVIDERS["osm"].url)
        self.AMAP_TILES_URL = env("AMAP_TILES_URL", PROVIDERS["amap"].url)
        self.MAP_TILES_ATTRIBUTION = env("MAP_TILES_ATTRIBUTION", "")  # empty: the known provider's own credit
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "service" / "translations")
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False
