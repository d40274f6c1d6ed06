"""Browser accounts: register, log in, log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from chatapp.auth.forms import LoginForm, RegisterForm
from chatapp.errors import ApiError
from chatapp.extensions import login_manager
from chatapp.models import User
from chatapp.ratelimits import login_limit
from chatapp.services import accounts

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    """Return the user a login names, unless it ended (password change, logout)."""
    return accounts.user_for_login(login_id)


def renew_login(user: User) -> None:
    """Log this browser in again after :func:`accounts.end_logins`, keeping "remember me"."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)


@bp.route("/register", methods=["GET", "POST"])
@login_limit
def register() -> Response | tuple[str, int] | str:
    """Show the registration form; create the account and log in."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.email.data, form.password.data)
        except ApiError as exc:
            form.username.errors.append(exc.message)
            return render_template("auth/register.html", form=form), 409
        login_user(user)
        return redirect(url_for("web.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login() -> Response | tuple[str, int]:
    """Show the login form; log in and go where the person was going."""
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong username or password.", "error")
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the home page."""
    if target and target.startswith("/") and "\\" not in target and not urlsplit(target).netloc:
        return target
    return url_for("web.index")


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Log out (a POST, so another site cannot log the person out).

    The account's login version is bumped, so this browser's remember cookie (and any copy
    of it) stops working on the server, not just in this browser.
    """
    accounts.end_logins(current_user)
    logout_user()
    return redirect(url_for("auth.login"))
