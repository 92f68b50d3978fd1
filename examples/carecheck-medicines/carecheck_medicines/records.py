"""The medication administration record (MAR) entry: one scheduled dose and what happened to it."""

from carecheck.records_api import Code, Field, FreeText, MaybeYesNo, Record, Text, Timestamp, free_text, ref


class MedicationAdministration(Record):
    """One scheduled dose on a person's medication administration record, and what happened to it."""

    kind = "medication_administration"
    title = "Medication administration record entry"
    event_field = "scheduled_at"
    # The domain reads a location's doses by outcome and each staff member's errors.
    indexes = (("outcome",), ("staff_id",))

    person_id: Text = Field(description="Pseudonymous id of the person the dose is for.")
    medicine: Text = Field(description="The medicine, as the MAR chart names it (no dose or free text).")
    scheduled_at: Timestamp = Field(description="When the dose was due (sets its period).")
    given_at: Timestamp | None = Field(default=None, description="When the dose was given, if it was.")
    outcome: Code("given", "refused", "omitted", "missed") = Field(
        description="given; refused by the person; omitted on purpose (clinical reason, out of stock); missed "
                    "(not given, with no decision to omit).")
    reason: Text | None = Field(default=None, description="The recorded reason a dose was refused, omitted or missed "
                                                          "(a code from the MAR system); empty when none was recorded.")
    error: MaybeYesNo = Field(default=None, description="Whether the entry is a medication error (wrong dose, person, "
                                                       "time or medicine, or a missed dose); empty when not assessed.")
    error_reviewed_at: Timestamp | None = Field(default=None, description="When a medication error was reviewed by the "
                                                                          "registered manager or a senior nurse.")
    staff_id: Text | None = Field(default=None, description="Staff id of the person who gave or should have given "
                                                            "the dose.")
    incident_id: Text | None = ref("incident", "The incident report raised for a medication error, if any.")
    notes: FreeText | None = free_text("The MAR entry's notes.")
