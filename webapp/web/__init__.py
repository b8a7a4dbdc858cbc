"""Web plumbing shared by the blueprints: rendering, access control, headers, errors."""
