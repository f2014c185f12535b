"""``python -m badgeworks``: the same command line as the ``badgeworks`` script."""

from badgeworks.cli import main

if __name__ == "__main__":
    main()
