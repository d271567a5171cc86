"""nervous_system tier."""
