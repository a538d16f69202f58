"""``oyster view TRACES``: browse traces in a local web page, or write them as a static site."""

from __future__ import annotations

import argparse
import sys


HELP = "browse traces: a page per query with its assessment, game, iterates and cost"
DESCRIPTION = (
    "TRACES: trace files (oyster run --json), batch outputs (oyster batch), eval output folders or "
    "their items.jsonl. Serves the pages on localhost until interrupted, or writes them with --out."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``view``."""
    parser = sub.add_parser("view", help=HELP, description=DESCRIPTION)
    parser.add_argument("traces", nargs="+", metavar="TRACES", help="files or folders to show")
    parser.add_argument("--out", metavar="DIR", help="write a static site into DIR instead of serving")
    parser.add_argument("--port", type=int, default=8765, metavar="N", help="port to serve on (0: any free); default 8765")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind; default 127.0.0.1 (the pages hold your traces: keep them local)")
    parser.add_argument("--title", default="oyster traces", help="the list page's title")
    parser.add_argument("--trace-url", metavar="URL",
                        help="link trace ids to your tracing UI, e.g. http://localhost:16686/trace/{trace_id}")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, render, then write or serve."""
    from oyster_agents.errors import InputError
    from oyster_agents.view import SiteOptions, build_site, load_entries, write_site
    from oyster_agents.view.server import is_loopback, make_server

    if args.trace_url and not args.trace_url.startswith(("http://", "https://")):
        raise InputError(f"--trace-url must be an http(s) URL with {{trace_id}}, got {args.trace_url!r}")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0 to 65535, got {args.port}")
    entries = load_entries(args.traces)
    if not entries:
        raise InputError("nothing to show: the inputs hold no traces")
    site = build_site(entries, SiteOptions(title=args.title, trace_url=args.trace_url))
    errors = sum(1 for e in entries if e.error)
    note = f"{len(entries)} quer{'y' if len(entries) == 1 else 'ies'}" + (f" ({errors} with errors)" if errors else "")
    if args.out:
        index = write_site(site, args.out)
        print(f"oyster view: {note} written to {index}", file=sys.stderr)
        return 0
    if not is_loopback(args.host):
        print(f"oyster view: warning: serving on {args.host}, reachable from other machines", file=sys.stderr)
    server = make_server(site, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"oyster view: {note} at http://{host}:{port}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("oyster view: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
