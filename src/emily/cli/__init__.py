"""The ``emily`` command line: one Typer app, with a sub-app per capability."""
