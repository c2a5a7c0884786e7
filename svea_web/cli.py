"""Command line: `flask` commands for users, firms and demo data, and the `svea-web` entry point."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import select

from svea_web.accounts import services as accounts
from svea_web.accounts.models import ROLES, Client, User
from svea_web.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(create_client)
    app.cli.add_command(add_member)
    app.cli.add_command(seed_demo)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--operator", is_flag=True, help="the deployment's operator: edits shared figure tables, sees all jobs")
@click.password_option()
def create_user(email: str, name: str, password: str, operator: bool) -> None:
    """Create a user who can log in."""
    if db.session.scalar(select(User).where(User.email == email.strip().lower())):
        raise click.ClickException(f"a user with e-mail {email} exists already")
    user = accounts.create_user(email, name, password)
    user.is_operator = operator
    db.session.commit()
    click.echo(f"created user {user.id} {user.email}")


@click.command("create-client")
@click.option("--name", required=True)
@click.option("--org-no", default=None, help="9-digit organisation number")
def create_client(name: str, org_no: str | None) -> None:
    """Create a client firm."""
    from stdnum.exceptions import ValidationError
    from stdnum.no import orgnr

    if org_no:
        try:
            org_no = orgnr.validate(org_no)
        except ValidationError as exc:
            raise click.ClickException(f"invalid organisation number {org_no}") from exc
    client = accounts.create_client(name, org_no=org_no)
    db.session.commit()
    click.echo(f"created client {client.id} {client.name}")


@click.command("add-member")
@click.option("--email", required=True)
@click.option("--client-id", type=int, required=True)
@click.option("--role", type=click.Choice(ROLES), default="user")
def add_member(email: str, client_id: int, role: str) -> None:
    """Give a user access to a client firm."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    client = db.session.get(Client, client_id)
    if user is None or client is None:
        raise click.ClickException("no such user or client")
    accounts.add_member(user, client, role)
    db.session.commit()
    click.echo(f"{user.email} is {role} of {client.name}")


@click.command("seed-demo")
def seed_demo() -> None:
    """Create the demo firm with its ledger and the demo login (once)."""
    from svea_web.clock import today
    from svea_web.demo import seed_demo as seed

    login = seed(today(), svea_base_url=current_app.config["SVEA_BASE_URL"])
    click.echo(f"demo login: {login.email} / {login.password}")


def main(argv: list[str] | None = None) -> None:
    """`svea-web run`: the embedded default (SQLite, private Redis, worker, sandbox, web) in one command."""
    from svea_web.supervisor import run_embedded

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "run":
        click.echo("usage: svea-web run [--port 5000] [--sandbox-port 5001]")
        raise SystemExit(2)
    run_embedded(args[1:])
