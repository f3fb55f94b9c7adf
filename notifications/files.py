"""Messages written as files, one per message, under `<instance_dir>/messages/` (as Django's file-based email backend
does): every email when no SMTP host is configured (notifications/email.py's file sender), and the invitations that
have only a phone number, since SMS is not sent yet. A developer or the demo opens a message there. The files hold
codes and tokens in clear, so the directory is private (0700, each file 0600) and nothing here logs what a message
says or to whom."""
import os
from datetime import datetime, timezone
from pathlib import Path


def messages_dir(instance_dir: str | os.PathLike) -> Path:
    return Path(instance_dir or "instance") / "messages"


def write_message(directory: Path, reference: str, to: list[str], subject: str, body: str) -> Path:
    """Write one message as a file named by time and `reference` (ordered as sent; one per reference, so a retry
    rewrites the same file rather than adding another); its path."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc)
    existing = sorted(directory.glob(f"*-{reference}.txt"))
    path = existing[0] if existing else directory / f"{stamp:%Y%m%dT%H%M%S%f}-{reference}.txt"
    text = (f"Message-Id: {reference}\nDate: {stamp.isoformat()}\nTo: {', '.join(to)}\n"
            f"Subject: {subject}\n\n{body}")
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(partial, path)  # whole or not at all: a reader never sees half a message
    return path
