"""The exit codes, the same for every command.

- 0: success;
- 1: the checks ran and failed a threshold the user set (for example ``--fail-under``);
- 2: a usage or input error, reported in one line;
- 3: an internal error (a bug in carecheck).
"""

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3
