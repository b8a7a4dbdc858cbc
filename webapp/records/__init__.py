"""A Candidate's or Client Contact's record: details, Privacy, Comments, Communications History."""

from flask import Blueprint

bp = Blueprint("records", __name__)

from webapp.records import routes  # noqa: E402,F401
