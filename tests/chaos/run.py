"""`make chaos`: python -m tests.chaos.run [--changes 10000] [--workers 3] [--broker redis|orm].

Prints progress, each dead letter with its error, and last one JSON line:
{"changes", "remote_documents", "duplicates", "lost", "order_violations", "dead_letters",
"seconds", ...}. Needs PostgreSQL (DATABASE_URL names the server; the run makes and drops its
own two databases) and redis-server on PATH (the run starts its own on a free port)."""

import argparse
import datetime
import json
import os
import sys

from tests.chaos.harness import Chaos, Options


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--broker", choices=["redis", "orm"], default="orm")
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--seconds-per-minute", type=float, default=1.0)
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=6000.0,
        help="seconds to wait for the queue (10,000 changes drained in 46 minutes here)",
    )
    parser.add_argument(
        "--stop-at", default="", help="UTC HH:MM: stop waiting for the queue then, at the latest"
    )
    parser.add_argument("--prefix", default="syncdesk_chaos", help="names of its two databases")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not url.startswith(("postgres://", "postgresql://")):
        print("make chaos needs PostgreSQL: set DATABASE_URL to a server.", file=sys.stderr)
        return 2
    stop_at = None
    if args.stop_at:
        today = datetime.datetime.now(datetime.UTC)
        hour, minute = map(int, args.stop_at.split(":"))
        stop_at = today.replace(hour=hour, minute=minute, second=0).timestamp()
    options = Options(
        stop_at=stop_at,
        changes=args.changes,
        workers=args.workers,
        broker=args.broker,
        kill_every=args.kill_every,
        seconds_per_minute=args.seconds_per_minute,
        database_url=url,
        keep=args.keep,
        prefix=args.prefix,
        drain_timeout=args.drain_timeout,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    chaos = Chaos(options)
    try:
        chaos.setup()
        result = chaos.run()
    finally:
        chaos.close()
        if args.keep:
            print(f"chaos: logs in {chaos.dir}", file=sys.stderr)
    for letter in result["dead"]:
        print(
            f"dead letter #{letter['item']}: {letter['operation']} {letter['entity']} "
            f"{letter['reference']} after {letter['attempts']} attempts: {letter['error']}",
            file=sys.stderr,
        )
    for problem in result["problems"]:
        print(problem, file=sys.stderr)
    line = {
        key: result[key]
        for key in (
            "changes",
            "remote_documents",
            "duplicates",
            "lost",
            "order_violations",
            "dead_letters",
            "seconds",
        )
    }
    line |= {"broker": args.broker, "workers": args.workers, "kills": result["kills"]}
    line["pending"] = result["pending"]  # changes not yet on the vendor, their items queued
    line["unfinished"] = result["unfinished"]  # outbox items still queued when the wait ended
    print(json.dumps(line), flush=True)
    clean = not (result["duplicates"] or result["lost"] or result["order_violations"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
