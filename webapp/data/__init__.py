"""Bulk data in and out of the database: demo data and CSV import (no Flask here)."""
