"""The SMS domain: plain Python over a database session, importing nothing from Flask."""
