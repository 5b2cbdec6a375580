"""One clock (service/core/clock.py): the service reads the time in one place. A `datetime.now(` or a database
`now()` elsewhere would let a deadline and the overdue count it is compared with come from two clocks. (time.time()
for a file's age or a cookie's expiry is the same clock as clock.now(), and compares with nothing stored.)"""
import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
# The replica's lag compares the database's clock with its own replay time: both the database's.
DATABASE_CLOCK_ALLOWED = {"ops/replica.py"}


def _sources():
    for path in sorted(SERVICE.rglob("*.py")):
        yield path.relative_to(SERVICE).as_posix(), path.read_text(encoding="utf-8")


def test_only_the_clock_module_asks_python_for_the_time():
    found = [name for name, source in _sources()
             if name != "core/clock.py" and re.search(r"datetime\.(now|utcnow|today)\(|date\.today\(",
                                                      source)]
    assert found == []


def test_no_statement_asks_the_database_for_the_time():
    pattern = re.compile(r"func\.now\(\)|(?<![.\w])(?<!def )now\(\)|CURRENT_(TIMESTAMP|DATE)|clock_timestamp")
    found = [name for name, source in _sources()
             if name not in DATABASE_CLOCK_ALLOWED | {"core/clock.py"}
             and pattern.search("\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#")))]
    assert found == []
