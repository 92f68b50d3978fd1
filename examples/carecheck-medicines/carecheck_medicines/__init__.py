"""carecheck plugin: a medication administration record kind and a medicines management domain.

Install it beside carecheck (``pip install carecheck-medicines``), import MAR exports with
``--kind medication_administration``, and run a ruleset that enables ``medicines_management``,
such as the one this package ships (``medicines-recovery.yaml``).
"""

from pathlib import Path

from carecheck import hookimpl

from .domain import MedicinesManagement
from .records import MedicationAdministration

__version__ = "1.0.0"

#: A ruleset with carecheck's three built-in domains and this one.
RULESET = Path(__file__).parent / "medicines-recovery.yaml"


@hookimpl
def carecheck_register_record_kinds(register):
    register(MedicationAdministration)


@hookimpl
def carecheck_register_domains(register):
    register(MedicinesManagement())
