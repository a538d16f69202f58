"""The trace view: a browsable page per query (assessment, game, Lingo-BP iterates, cost) and a filterable list.

Used by ``oyster view`` (served on localhost or written as a static site) and by the evaluation
report's item pages. Public API::

    from oyster_agents.view import build_site, load_entries, write_site
    write_site(build_site(load_entries(["traces.jsonl"])), "site/")
"""

from __future__ import annotations

from oyster_agents.view.load import Entry, entries_from_records, load_entries
from oyster_agents.view.site import SiteOptions, build_site, write_item_pages, write_site

__all__ = ["Entry", "SiteOptions", "build_site", "load_entries", "write_site"]
