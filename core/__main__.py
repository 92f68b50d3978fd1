"""``python -m carecheck``: the same as the ``carecheck`` command."""

from .cli import main

main()
