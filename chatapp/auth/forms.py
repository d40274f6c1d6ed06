"""Browser forms for accounts (CSRF-protected by Flask-WTF)."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp, ValidationError

from chatapp.inputs import NUL, NUL_MESSAGE
from chatapp.services import passwords


def acceptable_password(_form: FlaskForm, field: Field) -> None:
    """Refuse passwords that are too short or among the most common (NIST SP 800-63B)."""
    found = passwords.problem(field.data or "")
    if found is not None:
        raise ValidationError(found[1])


class Form(FlaskForm):
    """A form that refuses NUL characters in any field (the rule of :mod:`chatapp.inputs`)."""

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate as usual, then refuse every text field containing a NUL character."""
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and NUL in field.data:
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid


class LoginForm(Form):
    """Log in with a username or email and a password."""

    username = StringField("Username or email", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me logged in")


class RegisterForm(Form):
    """Create an account."""

    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, '.', '_' or '-'."),
        ],
    )
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), acceptable_password])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )
