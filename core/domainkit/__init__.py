"""What domains are built with, beside the public ``carecheck.domain_api``: the trigger language
their escalation rules are written in (``expressions``), the CQC framework they map to
(``framework``), statutory deadlines (``statutory``), reading free text for warning signs without
repeating it (``textcheck``), and shared counting helpers (``helpers``). The built-in domains and
providers' own use the same kit; rulesets and mappings reuse the trigger language."""
