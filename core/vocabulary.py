"""Code lists shared by the record kinds and the domains: what a field's listed codes are, kept
apart from both so a domain can name them without importing the records' models."""

#: incident_type's listed codes: the care plan and safeguarding checks name these.
INCIDENT_TYPES = ("fall", "medication", "behaviour", "skin", "unexplained_injury", "abuse", "other")
#: cause's listed codes.
INCIDENT_CAUSES = ("environment", "equipment", "staffing", "communication", "care_planning", "health_condition",
                   "medication_process", "behaviour", "other")
