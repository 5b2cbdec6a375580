"""Account commands: create, list, tokens, passwords, disable, erase, export-data."""
import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from service.accounts import auth
from service.core.db import db
from service.core.errors import Conflict
from service.core.models import User
from service.privacy import people
from service.rules.roles import ROLES
from service.web.commands import area_option

users_group = click.Group("users", help="Manage accounts.")


def _password_from_stdin() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    return password


@users_group.command("create")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--area", "area_code", help="Town code for town_supervisor, committee code for committee_staff.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--token", is_flag=True, help="Create an API token and print it.")
@with_appcontext
def users_create(name, phone, role, area_code, password_stdin, token) -> None:
    """Create an account."""
    area = area_option(area_code)
    needed = {"committee_staff": "committee", "town_supervisor": "town"}.get(role)
    if needed and (area is None or area.level != needed):
        raise click.ClickException(f"--area must be a {needed} code for {role}")
    if db.session.scalar(select(User).where(User.phone == phone)):
        raise click.ClickException(f"phone {phone} is already registered")
    password = _password_from_stdin() if password_stdin else None
    user, secret = auth.create_account(name, phone, role, area.id if area else None, password, with_token=token)
    click.echo(f"created user {user.id} {name} ({role})")
    if secret:
        click.echo(f"token: {secret}")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List accounts."""
    for u in db.session.scalars(select(User).order_by(User.id)):
        click.echo(f"{u.id}\t{u.phone}\t{u.role}\t{u.area.code if u.area else '-'}\t"
                   f"{'active' if u.active else 'disabled'}\t{u.name}")


def _user(phone: str) -> User:
    user = db.session.scalar(select(User).where(User.phone == phone))
    if user is None:
        raise click.ClickException(f"no user with phone {phone}")
    return user


@users_group.command("token")
@click.argument("phone")
@click.option("--revoke-all", is_flag=True, help="Revoke the user's existing tokens first.")
@click.option("--days", type=click.IntRange(1, 3650), help="Lifetime in days  [default: API_TOKEN_DAYS, 90]")
@with_appcontext
def users_token(phone: str, revoke_all: bool, days: int | None) -> None:
    """Issue a new API token for a user (printed once)."""
    n, secret = auth.new_token(_user(phone), days, revoke_all)
    if revoke_all:
        click.echo(f"revoked {n} tokens")
    click.echo(f"token: {secret}")


@users_group.command("set-password")
@click.argument("phone")
@with_appcontext
def users_set_password(phone: str) -> None:
    """Set a user's password, read from standard input."""
    auth.change_password(_user(phone), _password_from_stdin())
    click.echo(f"password set for {phone}; its sessions ended and tokens revoked")


@users_group.command("disable")
@click.argument("phone")
@with_appcontext
def users_disable(phone: str) -> None:
    """Disable an account (its sessions and tokens stop working)."""
    auth.disable(_user(phone))
    click.echo(f"disabled {phone}; its sessions ended and tokens revoked")


@users_group.command("erase")
@click.argument("phone")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def users_erase(phone: str, yes: bool) -> None:
    """Anonymise someone who has left: name, phone, password and profile go; their reports, hours and stars stay
    under an anonymous name; sessions and tokens end. Refused for the last active district admin."""
    user = _user(phone)
    if not yes:
        click.confirm(f"erase {phone} ({user.name}) for good?", abort=True)
    try:
        done = people.erase(user)
    except Conflict as e:
        raise click.ClickException(str(e.message)) from e
    click.echo(f"erased user {done['user_id']}: {', '.join(done['erased'])}; sessions ended, tokens revoked")


@users_group.command("export-data")
@click.argument("phone")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file, not stdout.")
@with_appcontext
def users_export_data(phone: str, out: str | None) -> None:
    """Everything held about one person, as JSON (the right of access)."""
    text = json.dumps(people.export(_user(phone)), ensure_ascii=False, indent=2)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text)


COMMANDS = (users_group,)
