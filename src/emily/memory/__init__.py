"""memory tier."""
