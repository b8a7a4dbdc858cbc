"""The CSV downloads' routes (being written for issue 21)."""
