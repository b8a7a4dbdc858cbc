"""The views of the admin package, one module per page group: users and roles, settings, status,
profile."""

from webapp.admin import profile, settings, status, two_factor, users  # noqa: F401
