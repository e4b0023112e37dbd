"""``python -m hall_server …`` is the ``hall`` command."""

from .cli import main

main()
