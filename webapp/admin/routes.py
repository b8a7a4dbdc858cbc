"""The views of the admin package, one module per page group: users and roles, settings, profile."""

from webapp.admin import profile, settings, users  # noqa: F401
