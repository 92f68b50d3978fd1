"""The plugin system's parts beside the specification (``carecheck.hookspecs``) and the manager
(``carecheck.plugin_manager``): the checks a domain passes when its plugin loads
(``domain_checks``), the sandbox a domain's SQL runs in (``declared_reads``), and the generated
hook reference (``hooks_doc``)."""
