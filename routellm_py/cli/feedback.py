"""`routellm-py feedback purge --db URL --older-than-days N`: retention of the feedback store.

Deletes routing decisions (and their feedback, prompts included) stored more than N days
ago from the database the server writes (`serve --feedback-db URL`): sqlite:///PATH or
postgresql://... Run it from cron for a fixed retention period.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="manage the feedback store", description=__doc__)
    actions = p.add_subparsers(dest="action", required=True)
    purge = actions.add_parser("purge", help="delete records older than N days")
    purge.add_argument("--db", required=True, help="sqlite:///PATH or postgresql://...")
    purge.add_argument("--older-than-days", type=float, required=True, help="retention, days")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from routellm_py.feedback.store import FeedbackStore

    store = FeedbackStore(args.db)
    try:
        n = store.purge(args.older_than_days)
    finally:
        store.close()
    print(f"deleted {n} decisions older than {args.older_than_days:g} days (with their feedback)")
    return 0
