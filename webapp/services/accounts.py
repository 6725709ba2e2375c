"""Organizations and their users: sign-up, sign-in, invitations."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import sqlalchemy.exc
from flask_smorest import abort

from webapp.auth.passwords import hash_password, verify_password
from webapp.extensions import db
from webapp.models import Organization, Role, User
from webapp.services import webhooks

log = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def ensure_email_free(email: str) -> None:
    if find_user(email) is not None:
        abort(409, code="email_taken", message=f"An account already uses {email}.")


def register(email: str, password: str, organization_name: str) -> User:
    """A new organization, owned by a new user."""
    ensure_email_free(email)
    organization = Organization(name=organization_name.strip())
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password),
        organization=organization,
        role=Role.OWNER,
    )
    db.session.add_all([organization, user])
    db.session.commit()
    return user


def sign_up(email: str, password: str, organization_name: str) -> None:
    """Register a new organization and its owner unless the address already has an account.

    The caller cannot tell which happened, so the API's answer does not reveal whether an
    address is registered: a taken address still costs a password hash (the same time), and
    its account is left untouched.
    """
    if find_user(email) is not None:
        hash_password(password)
        log.info("registration refused: the address already has an account")
        return
    try:
        register(email, password, organization_name)
    except sqlalchemy.exc.IntegrityError:  # the same address registered at the same moment
        db.session.rollback()


def authenticate(email: str, password: str) -> User:
    """The user with these credentials; 401 otherwise (without saying which part was wrong)."""
    user = find_user(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        abort(401, code="invalid_credentials", message="Wrong e-mail or password.")
    return user


def invite(
    organization: Organization, email: str, role: str, password: str | None
) -> tuple[User, str | None]:
    """Add a user to ``organization``; returns the temporary password if one was generated."""
    ensure_email_free(email)
    temporary = None if password else secrets.token_urlsafe(12)
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password or temporary or ""),
        organization=organization,
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user, temporary


def remove_member(organization: Organization, member: User, by: User) -> None:
    """Remove a member; owners cannot remove themselves (the organization keeps an owner)."""
    if member.id == by.id:
        abort(409, code="cannot_remove_self", message="You cannot remove yourself.")
    db.session.delete(member)
    db.session.commit()


def change_organization(organization: Organization, changes: dict[str, Any]) -> Organization:
    """Rename it or set its webhook; a secret is generated with the first URL, or on request."""
    if "name" in changes:
        organization.name = changes["name"].strip()
    if "webhook_url" in changes:
        organization.webhook_url = changes["webhook_url"] or None
    wants_secret = organization.webhook_url and not organization.webhook_secret
    if wants_secret or changes.get("rotate_webhook_secret"):
        organization.webhook_secret = webhooks.new_secret()
    db.session.commit()
    return organization


def change_role(member: User, role: str, by: User) -> User:
    """Make a member an owner or a member; owners cannot change their own role (so the
    organization always keeps an owner)."""
    if member.id == by.id:
        abort(409, code="cannot_change_own_role", message="You cannot change your own role.")
    member.role = Role(role)
    db.session.commit()
    return member
