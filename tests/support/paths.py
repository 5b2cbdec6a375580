"""Where things are, stated once so that test modules can live in any folder under tests/."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
MIGRATIONS = ROOT / "migrations"
VENDOR = ROOT / "tests" / "vendor"  # third-party test assets (axe-core)
# ../shared/data beside the clone: present in the development workspace and in CI, absent in a user's clone.
SHARED_DATA = ROOT.parent / "shared" / "data"
