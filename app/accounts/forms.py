"""The user form's fields, declared once: the admin's invite and edit pages and the CLI's
``create-admin`` read a user's address and name by these (through ``services``)."""

from __future__ import annotations

from app.accounts.models import User
from app.fields import Text, email_address

# One address, checked by email-validator and kept in lower case: "a@b.example,c@evil.example"
# would have had every message for this user delivered to both.
EMAIL = email_address
FULL_NAME = Text.of(User.full_name, multiline=False, words="the name")
