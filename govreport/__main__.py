"""``python -m govreport``: the command line."""

from govreport.cli import main

main()
