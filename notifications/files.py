"""The development sender: each message written as one file under `<instance_dir>/messages/` (as Django's
file-based email backend does), until the notifications issue adds real email and SMS delivery. A developer or the
demo opens an invitation there. The files hold codes and tokens in clear, so the directory is private (0700, each
file 0600) and nothing here logs what a message says."""
import os
from datetime import datetime, timezone
from pathlib import Path

from backend.outbox import Delivery, Message
from backend.plans.pii import PiiVault
from notifications.invitations import render


def messages_dir(instance_dir: str | os.PathLike) -> Path:
    return Path(instance_dir or "instance") / "messages"


def deliver_invitation(message: Message, *, directory: Path, vault: PiiVault) -> Delivery:
    """Write the invitation as a file named by time and message id (ordered as sent; one per message, so a retry
    rewrites the same file rather than adding another)."""
    rendered = render(message.payload, vault)
    if not rendered.to:
        return Delivery(False, "the message has no address", permanent=True)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc)
    existing = sorted(directory.glob(f"*-{message.id}.txt"))
    path = existing[0] if existing else directory / f"{stamp:%Y%m%dT%H%M%S%f}-{message.id}.txt"
    text = (f"Message-Id: {message.id}\nDate: {stamp.isoformat()}\nTo: {', '.join(rendered.to)}\n"
            f"Subject: {rendered.subject}\n\n{rendered.body}")
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(partial, path)  # whole or not at all: a reader never sees half a message
    return Delivery(True, result={"file": path.name})
