"""`python -m feeds build` works like `feeds build`."""

from feeds.cli import run

run()
