"""instinct tier."""
