"""runtime tier."""
