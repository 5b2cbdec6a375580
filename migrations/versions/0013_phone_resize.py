"""Phone-resized uploads (issue 15): a photo records the original the phone shrank, by byte size and SHA-256.

The columns are empty for a photo uploaded at full size. The original's hash is indexed so a duplicate
photo is found whether it came full size once and resized another time. The app role's table-level
privileges on photo cover the new columns.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("photo", sa.Column("phone_original_sha256", sa.String(64), nullable=True))
    op.add_column("photo", sa.Column("phone_original_bytes", sa.BigInteger(), nullable=True))
    op.add_column("photo", sa.Column("phone_orientation", sa.SmallInteger(), nullable=True))
    op.create_check_constraint(
        "ck_photo_phone_resize", "photo",
        "(phone_original_sha256 IS NULL) = (phone_original_bytes IS NULL)"
        " AND (phone_orientation IS NULL OR phone_orientation BETWEEN 1 AND 8)")
    op.create_index("ix_photo_phone_original_sha256", "photo", ["phone_original_sha256"])


def downgrade() -> None:
    op.drop_index("ix_photo_phone_original_sha256", table_name="photo")
    op.drop_constraint("ck_photo_phone_resize", "photo", type_="check")
    op.drop_column("photo", "phone_orientation")
    op.drop_column("photo", "phone_original_bytes")
    op.drop_column("photo", "phone_original_sha256")
