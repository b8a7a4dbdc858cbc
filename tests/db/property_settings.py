"""Hypothesis settings for property tests on a real database, which a module tunes with its own
number of examples: `settings(ON_A_DATABASE, max_examples=25)`."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Examples wait on a real database (no deadline, no too_slow); they share the test's session,
# each rolling back what it wrote (function_scoped_fixture); they draw whole tables of rows
# (data_too_large); and no example database is written into the checkout.
ON_A_DATABASE = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
