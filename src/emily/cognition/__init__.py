"""cognition tier."""
