"""The notifications domain's part of ``make demo``: a broadcast to a creator's followers."""

from __future__ import annotations

import json

from jobs.notifications.channels import outbox_dir
from odyssey_workers.demo import cli, console, demo_people, show

DEMO_NAME = "notifications"
DEMO_ORDER = 20


def run() -> None:
    """A content_upload broadcast to the creator's followers, into the local outboxes."""
    console.print("[bold]Notifications[/bold]: the creator's followers hear about a new upload")
    creator_id, _fans = demo_people()
    data = json.dumps({"creator_name": "Ana", "title": "Tour diary, part 1", "url": "https://odyssey.example/v/1"})
    out = cli("notify", "content_upload", "--followers-of", str(creator_id), "--data", data, "--wait")
    show(out.stdout)
    outbox = outbox_dir()
    emails = sorted(outbox.rglob("*.eml"))
    console.print(f"   {len(emails)} emails in {outbox}; the newest:")
    if emails:
        newest = max(emails, key=lambda p: p.stat().st_mtime).read_text(errors="replace")
        show("\n".join("      " + line for line in newest.splitlines()[:14]))
