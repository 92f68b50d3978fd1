"""What a fleet run shows: each store's rows for the fleet database and its locations, and the
overview of every provider (a row each first, then each provider's locations, drifting first)."""

from __future__ import annotations

from carecheck.verdict.levels import READER_WORDS


def summary_rows(provider: str, verdict: dict) -> tuple[list[dict], list[dict]]:
    """One row per location, domain and target; and one per location with its levels and whether
    it is drifting (any of its targets deteriorating)."""
    open_escalations: dict[tuple[str, str], int] = {}
    for escalation in verdict["escalations"]:
        if escalation.get("status", "open") == "open":
            key = (escalation["service"], escalation["domain"])
            open_escalations[key] = open_escalations.get(key, 0) + 1
    levels = {(loc["service"], d["domain"]): d["level"] for loc in verdict["locations"] for d in loc["domains"]}
    current = verdict["periods"]["current"]
    rows = []
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            for row in target["services"]:
                entry = next((p for p in row["periods"] if p["period"] == current), None)
                rows.append({
                    "provider": provider, "location": row["service"], "domain": domain["domain"],
                    "target": target["id"], "level": levels.get((row["service"], domain["domain"])),
                    "status": row["status"], "current": entry["value"] if entry else None,
                    "baseline": row.get("baseline"),
                    "open_escalations": open_escalations.get((row["service"], domain["domain"]), 0),
                })
    from carecheck.reporters.first_screen import location_counts
    from carecheck.verdict.levels import NEEDS_ATTENTION

    titles = {d["domain"]: d["title"] for d in verdict["domains"]}
    locations = []
    for location in verdict["locations"]:
        drifting = any(r["status"] == "deteriorating" for r in rows if r["location"] == location["service"])
        opened, overdue = location_counts(verdict, location)
        # Why, when below assured: its domains below assured, in words.
        why = "; ".join(f"{titles.get(d['domain'], d['domain'])}: {READER_WORDS.get(d['level'], d['level'])}"
                        for d in location["domains"] if d["level"] in NEEDS_ATTENTION)
        locations.append({"provider": provider, "location": location["service"], "level": location["level"],
                          "drifting": drifting, "escalations_open": opened, "overdue_actions": overdue, "why": why,
                          # in the ruleset's order, which the overview keeps
                          "domains": {d["domain"]: d["level"] for d in location["domains"]},
                          "domain_titles": titles})
    return rows, locations


def overview(audit: dict, results: list) -> dict:
    """The fleet's combined view from its stores' results (:class:`carecheck.fleet.StoreResult`):
    providers, then their locations, drifting ones first."""
    from carecheck.reporters.fleet_overview import provider_rows
    from carecheck.verdict.levels import rank

    locations = [loc for r in results for loc in r.locations]
    locations.sort(key=lambda loc: (not loc["drifting"], rank(loc["level"]), loc["provider"], loc["location"]))

    providers = provider_rows([{"provider": r.provider, "store": r.store, "error": r.error,
                                "lowest_level": r.verdict_lowest, "newest_evidence": r.newest_evidence,
                                "data_end": r.data_end} for r in results], locations)
    domains = [{"domain": name, "title": title} for name, title in locations[0].get("domain_titles", {}).items()] \
        if locations else []
    for loc in locations:
        loc.pop("domain_titles", None)  # said once, in the view's domains
    return {
        "fleet_run_id": audit["fleet_run_id"],
        "audit": audit,
        "providers": providers,
        "domains": domains,
        "locations": locations,
        "drifting": sum(1 for loc in locations if loc["drifting"]),
        "failures": [{"provider": r.provider, "store": r.store, "error": r.error} for r in results if r.error],
        "stores": [{"provider": r.provider, "store": r.store, "run_id": r.run_id, "lowest_level": r.verdict_lowest,
                    "seconds": round(r.seconds, 3), "error": r.error, "pack": r.pack, "data_end": r.data_end,
                    "newest_evidence": r.newest_evidence}
                   for r in results],
    }
