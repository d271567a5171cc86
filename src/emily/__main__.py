"""Allow ``python -m emily`` as well as the ``emily`` console script."""

from emily.cli.app import main

main()
