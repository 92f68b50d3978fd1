"""Exceptions raised by carecheck's core.

The CLI turns every :class:`CarecheckError` into a one-line message and exit code 2;
anything else that escapes is a bug and exits 3.
"""


class CarecheckError(Exception):
    """Base class for problems a user can cause and fix. The message is shown to the user."""


class InputError(CarecheckError):
    """A file, row, option or key given by the user cannot be used.

    Messages name the file and, where there is one, the row or key. They may quote a date or a
    code but never a free-text field, which may hold personal details.
    """


class MappingError(InputError):
    """A mapping file is malformed or does not fit the source it is applied to."""


class PluginError(CarecheckError):
    """A plugin needed for the requested work failed to load or misbehaved."""


#: YAML 1.1 reads these bare words as true or false, which a text field then refuses.
YAML_BOOLEAN_WORDS = "yes, no, on, off, true or false"


def problem_message(problem: dict) -> str:
    """One pydantic problem's message for a user, never quoting the input: "Value error, " is
    dropped, and a true or false where text was wanted says how YAML came to read it so."""
    message = problem["msg"].removeprefix("Value error, ")
    if problem.get("type") == "string_type" and isinstance(problem.get("input"), bool):
        message += f" (YAML reads a bare {YAML_BOOLEAN_WORDS} as true or false: put the word in quotes)"
    return message
