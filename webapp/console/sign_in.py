"""Signing in and out, and the console's home."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webapp.auth.limits import sign_ins_per_account, sign_ins_per_address
from webapp.auth.passwords import verify_password
from webapp.console.access import sign_in_user, sign_out_user
from webapp.console.blueprint import blp
from webapp.services import accounts


@blp.route("/sign-in", methods=["GET", "POST"])
@sign_ins_per_account
@sign_ins_per_address
def sign_in() -> str | Response | tuple[str, int]:
    """The sign-in form; a wrong e-mail or password gets one message for both.

    Failed attempts count against the same limits as the API's login (429 once reached).
    """
    target = safe_target(request.values.get("next"))
    if request.method == "GET":
        return render_template("console/sign_in.html", next=target, email="")
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    user = accounts.find_user(email) if email else None
    # Verified even for an unknown e-mail, so both cases take the same time.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        error = "Wrong e-mail or password."
        page = render_template("console/sign_in.html", next=target, email=email, error=error)
        return page, 401
    sign_in_user(user)
    return redirect(target or url_for("console.home"))


def safe_target(target: str | None) -> str | None:
    """Only a path of the console itself, so the form cannot send anyone to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return None
    return target


@blp.post("/sign-out")
def sign_out() -> Response:
    sign_out_user()
    return redirect(url_for("console.sign_in"))


@blp.get("/")
def home() -> Response:
    """The console opens on the knowledge base."""
    return redirect(url_for("console.documents"))
