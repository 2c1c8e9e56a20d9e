"""``python -m studio``: the same command line as ``dagstudio``."""

from studio.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
