"""``python -m carecheck``: the same as the ``carecheck`` command."""

from carecheck.cli import main

main()
