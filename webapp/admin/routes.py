"""The views of the admin package, one module per page group: users and roles, settings, status,
profile."""

from webapp.admin import (  # noqa: F401
    offices,
    profile,
    settings,
    sms_accounts,
    status,
    two_factor,
    users,
)
