"""``gcrm users``, ``gcrm tokens`` and ``gcrm audit``: who may see what, and who saw what."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from gcrm.access import (
    ROLES,
    add_user,
    create_token,
    disable_user,
    grant,
    link_oidc,
    list_tokens,
    list_users,
    read_audit,
    revoke,
    revoke_token,
    role_table,
    set_password,
)
from gcrm.cli.context import Context, pass_ctx
from gcrm.core import ValidationError

__all__ = ["audit_command", "tokens", "users"]


def _roles_help() -> str:
    rows = [
        f"  {label}: {', '.join(r for r, ok in allowed.items() if ok)}"
        for label, allowed in role_table()
    ]
    return "\n".join(rows)


_scope = click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="LEVEL:CODE|all",
    help="An area the user sees, with everything below it (repeatable), or 'all'.",
)
_password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (one line) instead of prompting.",
)


def _read_password(password_stdin: bool, *, required: bool) -> str | None:
    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            msg = "--password-stdin: standard input held no password line"
            raise ValidationError(msg)
        return line
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    if required:
        msg = "no password given: pass --password-stdin and write it to standard input"
        raise ValidationError(msg)
    return None


@click.group()
def users() -> None:
    """Users, their roles and their scopes.

    A scope is a set of areas at any level (each with everything below it), or all. A user
    sees only the customers, orders, leads and areas of their scope, in the dashboard, the
    API and exports: PostgreSQL enforces it (row-level security).
    """


users.help = (users.help or "") + "\n\n\b\nWhat each role may do:\n" + _roles_help()


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@_scope
@_password_stdin
@pass_ctx
def users_add(
    ctx: Context, name: str, role: str, scopes: tuple[str, ...], password_stdin: bool
) -> None:
    """Add a user (without a password the user logs in through OpenID Connect or uses API
    tokens only).

    \b
    Examples:
      gcrm users add anna --role manager --scope district:D01
      echo "$PASSWORD" | gcrm users add ops --role admin --scope all --password-stdin
    """
    password = _read_password(password_stdin, required=False)
    with ctx.engine.begin() as conn:
        add_user(conn, name, role=role, scopes=scopes, password=password)
    click.echo(f"user {name!r} added: role {role}, scope {' '.join(scopes)}")


@users.command("grant")
@click.argument("name")
@_scope
@pass_ctx
def users_grant(ctx: Context, name: str, scopes: tuple[str, ...]) -> None:
    """Add areas (or all) to a user's scope."""
    with ctx.engine.begin() as conn:
        grant(conn, name, scopes)
    click.echo(f"granted {' '.join(scopes)} to {name!r}")


@users.command("revoke")
@click.argument("name")
@_scope
@pass_ctx
def users_revoke(ctx: Context, name: str, scopes: tuple[str, ...]) -> None:
    """Remove areas (or all) from a user's scope."""
    with ctx.engine.begin() as conn:
        revoke(conn, name, scopes)
    click.echo(f"revoked {' '.join(scopes)} from {name!r}")


@users.command("passwd")
@click.argument("name")
@_password_stdin
@pass_ctx
def users_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a user's password (and lift a lock after failed logins)."""
    password = _read_password(password_stdin, required=True)
    assert password is not None
    with ctx.engine.begin() as conn:
        set_password(conn, name, password)
    click.echo(f"password of {name!r} set")


@users.command("disable")
@click.argument("name")
@pass_ctx
def users_disable(ctx: Context, name: str) -> None:
    """Disable a user: no login, no token, no row visible (at their next request)."""
    with ctx.engine.begin() as conn:
        disable_user(conn, name)
    click.echo(f"user {name!r} disabled")


@users.command("enable")
@click.argument("name")
@pass_ctx
def users_enable(ctx: Context, name: str) -> None:
    """Enable a disabled user again."""
    with ctx.engine.begin() as conn:
        disable_user(conn, name, disabled=False)
    click.echo(f"user {name!r} enabled")


@users.command("link-oidc")
@click.argument("name")
@click.argument("subject")
@pass_ctx
def users_link_oidc(ctx: Context, name: str, subject: str) -> None:
    """Let a user log in through OpenID Connect: SUBJECT is the `sub` the identity provider
    reports for them (the login page shows it to anyone whose account is not linked yet).

    \b
    Example:
      gcrm users link-oidc anna 248289761001
    """
    with ctx.engine.begin() as conn:
        link_oidc(conn, name, subject)
    click.echo(f"user {name!r} logs in through OpenID Connect as subject {subject!r}")


@users.command("list")
@pass_ctx
def users_list(ctx: Context) -> None:
    """List users: role, scope, disabled, locked, valid tokens."""
    with ctx.engine.connect() as conn:
        table = list_users(conn)
    click.echo(table.to_string(index=False) if len(table) else "(no users)")


@click.group()
def tokens() -> None:
    """API tokens: `Authorization: Bearer TOKEN` on every API request."""


@tokens.command("create")
@click.argument("user")
@click.option(
    "--expires-days",
    type=int,
    default=90,
    show_default=True,
    help="Days the token is valid; 0 for a token that never expires (revoke it when done).",
)
@click.option("--label", default="api", show_default=True, help="What the token is for.")
@pass_ctx
def tokens_create(ctx: Context, user: str, expires_days: int, label: str) -> None:
    """Create a token for USER; the token is the last line of the output (it is stored
    hashed: copy it now, it cannot be shown again).

    \b
    Example:
      TOKEN=$(gcrm tokens create anna --expires-days 30 | tail -n 1)
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8050/api/health
    """
    with ctx.engine.begin() as conn:
        token = create_token(conn, user, name=label, expires_days=expires_days or None)
    days = f"{expires_days} days" if expires_days else "until revoked"
    click.echo(f"token for {user!r} ({label}), valid {days}:")
    click.echo(token)


@tokens.command("list")
@click.option("--user", default=None, help="Only this user's tokens.")
@pass_ctx
def tokens_list(ctx: Context, user: str | None) -> None:
    """List tokens (id, user, label, prefix, dates), never their secret."""
    with ctx.engine.connect() as conn:
        table = list_tokens(conn, user_name=user)
    click.echo(table.to_string(index=False) if len(table) else "(no tokens)")


@tokens.command("revoke")
@click.argument("token")
@pass_ctx
def tokens_revoke(ctx: Context, token: str) -> None:
    """Revoke a token, given by its id or its prefix (see `gcrm tokens list`)."""
    with ctx.engine.begin() as conn:
        token_id = revoke_token(conn, token)
    click.echo(f"token {token_id} revoked")


@click.command("audit")
@click.option("--actor", default=None, help="Only this user (or cli:<name> for the CLI).")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="Only records from this day or moment on.",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@pass_ctx
def audit_command(ctx: Context, actor: str | None, since: datetime | None, limit: int) -> None:
    """Who read or exported personal data: when, through what, how many rows, which fields.

    \b
    Examples:
      gcrm audit
      gcrm audit --actor anna --since 2026-11-01
    """
    with ctx.engine.connect() as conn:
        table = read_audit(conn, actor=actor, since=since, limit=limit)
    click.echo(table.to_string(index=False) if len(table) else "(no records)")
