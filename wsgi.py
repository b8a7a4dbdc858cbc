"""The WSGI entry point for gunicorn, waitress and `flask --app wsgi`."""

import sys

from webapp import create_app
from webapp.config import ConfigError

# gunicorn's exit code for a worker that cannot boot: its master stops rather than respawning it.
WORKER_BOOT_ERROR = 3

try:
    app = create_app()
except ConfigError as error:
    # A setting someone must fix is said in one line, not under a traceback of our own code.
    print(f"SMS Desk cannot start: {error}", file=sys.stderr)
    raise SystemExit(WORKER_BOOT_ERROR) from None
