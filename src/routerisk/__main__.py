"""``python -m routerisk``."""

from routerisk.cli import main

if __name__ == "__main__":
    main()
