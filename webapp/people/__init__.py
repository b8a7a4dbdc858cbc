"""Candidates and Client Contacts (saving records, Privacy, searching), free of Flask."""
