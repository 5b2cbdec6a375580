"""hazard-snap apikeys: keys for systems that speak Open311 (city 311 platforms, FixMyStreet, grid systems).

A key belongs to an account of its own, named for the system, with the role of its area's level (district:
district_admin, town: town_supervisor, committee: committee_staff), so it reads and posts exactly what a user
of that area may, and no password, so nobody signs in with it. The key is printed once and stored as SHA-256;
it opens /open311/ only, never the native API or the pages.
"""
import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from service.accounts import auth
from service.core.db import db
from service.core.models import ApiToken, User
from service.web.commands import area_option

apikeys_group = click.Group("apikeys", help="Open311 API keys for other systems.")
ROLE_OF_LEVEL = {"district": "district_admin", "town": "town_supervisor", "committee": "committee_staff"}
PHONE_PREFIX = auth.KEY_ACCOUNT_PREFIX


@apikeys_group.command("create")
@click.option("--name", required=True, help="The system the key is for, e.g. 'FixMyStreet 闵行'.")
@click.option("--area", "area_code", required=True, help="District, town or committee code: what the key may see.")
@click.option("--days", type=click.IntRange(1, 3650), help="Lifetime in days  [default: API_TOKEN_DAYS, 90]")
@with_appcontext
def apikeys_create(name: str, area_code: str, days: int | None) -> None:
    """Create an Open311 api_key scoped to an area (printed once)."""
    area = area_option(area_code)
    user, key = auth.create_account(name, PHONE_PREFIX + secrets.token_hex(6), ROLE_OF_LEVEL[area.level],
                                    None if area.level == "district" else area.id, with_token=True, days=days,
                                    open311_only=True)
    click.echo(f"created api key {user.id} for {name} ({area.level} {area.code} {area.name})")
    click.echo(f"api_key: {key}")


@apikeys_group.command("list")
@with_appcontext
def apikeys_list() -> None:
    """List the Open311 keys: id, area, expiry, state, name."""
    rows = db.session.execute(select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
                              .where(ApiToken.open311_only).order_by(User.id, ApiToken.id))
    for user, token in rows:
        state, code = "revoked" if token.revoked_at else "active", user.area.code if user.area else "-"
        click.echo(f"{user.id}\t{code}\t{token.expires_at:%Y-%m-%d}\t{state}\t{user.name}")


@apikeys_group.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def apikeys_revoke(key_id: int) -> None:
    """Revoke the Open311 keys of an account made by `apikeys create`."""
    user = db.session.get(User, key_id)
    if user is None or not user.phone.startswith(PHONE_PREFIX):
        raise click.ClickException(f"no api key {key_id}")
    n = auth.revoke_all_tokens(user)
    click.echo(f"revoked {n} key(s) of {user.name}")


COMMANDS = (apikeys_group,)
