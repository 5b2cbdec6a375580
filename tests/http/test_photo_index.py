"""The perceptual photo match is index-backed (multi-index hashing over 4 bands of the phash) and finds exactly what
a full scan finds."""
import random

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from service.core.db import db
from service.reports import duplicates
from tests.support.reports_api import post

MASK = (1 << 64) - 1


def bands(h: int) -> list[int]:
    h &= MASK
    return [(h >> (16 * (3 - b))) & 0xFFFF for b in range(4)]


@given(st.integers(0, MASK), st.sets(st.integers(0, 63), max_size=11), st.integers(0, 11))
def test_a_hash_within_the_limit_always_shares_a_probed_band(h, flips, max_bits):
    near = h
    for bit in flips:
        near ^= 1 << bit
    if len(flips) <= max_bits:
        probes = duplicates.phash_probes([h], max_bits)
        assert any(value in probes[b] for b, value in enumerate(bands(near)))


def signed(h: int) -> int:
    return h - (1 << 64) if h >= 1 << 63 else h


def seed_photos(owner_engine, report_id: str, n: int, rng: random.Random) -> list[int]:
    hashes = [signed(rng.getrandbits(64)) for _ in range(n)]
    with owner_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO photo (report_id, role, sha256, original_key, public_key, thumb_key, content_type, width,"
            " height, bytes, phash) SELECT CAST(:r AS uuid), 'before', md5(h::text) || md5(h::text), 'o', 'p', 't',"
            " 'image/jpeg', 1, 1, 1, h FROM unnest(CAST(:hashes AS bigint[])) AS h"),
            {"r": report_id, "hashes": hashes})
        conn.execute(text("ANALYZE photo"))
    return hashes


def test_the_match_uses_the_band_index_and_agrees_with_a_full_scan(app, http, spot, owner_engine):
    rng = random.Random(11)
    holder = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    stored = seed_photos(owner_engine, holder, 20_000, rng)
    with app.app_context():
        bits = app.config["PHASH_MAX_BITS"]
        plan = "\n".join(r[0] for r in db.session.execute(text("EXPLAIN " + duplicates.PHOTO_MATCH_SQL),
                                                          duplicates.photo_match_params([], [stored[0]])))
        assert all(f"ix_photo_phash_band{b}" in plan for b in range(4)) and "Seq Scan" not in plan, plan
        for trial in range(120):
            base = stored[rng.randrange(len(stored))] & MASK
            query = base
            for bit in rng.sample(range(64), rng.choice([0, 2, bits, bits + 1, 20])):
                query ^= 1 << bit
            if not 8 <= query.bit_count() <= 56:
                continue
            truth = min((query ^ (h & MASK)).bit_count() for h in stored) <= bits
            found = duplicates.photo_duplicate_of([], [signed(query)])
            assert (found is not None) == truth, (trial, query)
            if truth:
                assert str(found) == holder
