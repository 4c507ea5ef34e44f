#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings")
    from scriptsmanager.files import private_umask_set

    # Before the settings create the data folder, the database or a log, and
    # inherited by everything `serve` starts: all of it private from the start.
    private_umask_set()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
