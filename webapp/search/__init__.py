"""Candidate and Client Contact search, where every SMS starts."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from webapp.search import routes  # noqa: E402,F401
