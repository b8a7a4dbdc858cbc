"""Users' accounts, sign-in throttling and sessions: the domain of auth and admin, free of Flask."""
