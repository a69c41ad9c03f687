"""The lab ingress router (see __main__.py)."""
