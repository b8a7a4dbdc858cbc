"""The dashboard's page (being written for issue 21)."""
