"""ops tier."""
