"""An index-backed perceptual photo match: the 64-bit phash cut into 4 bands of 16 bits (multi-index hashing).

Two hashes within r bits differ in at most r // 4 bits in one of the 4 bands (pigeonhole), so the lookup probes
each band's value and its neighbours within r // 4 bits through one b-tree per band (a BitmapOr of four index
scans), then checks the whole distance on those candidates only (service/reports/duplicates.py). Expression
indexes need no new column, and each gets its own statistics, so the planner sees how selective a band is.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SHIFTS = (48, 32, 16, 0)


def upgrade() -> None:
    for band, shift in enumerate(SHIFTS):
        op.execute(f"CREATE INDEX ix_photo_phash_band{band} ON photo (((phash >> {shift}) & 65535))")


def downgrade() -> None:
    for band in range(len(SHIFTS)):
        op.execute(f"DROP INDEX ix_photo_phash_band{band}")
