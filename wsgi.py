"""The WSGI entry point for gunicorn, waitress and `flask --app wsgi`."""

from webapp import create_app

app = create_app()
