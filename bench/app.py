"""Benchmark: the phone app's speed on the demo's data.

Figures: the JavaScript a first load downloads (the entry script and the modules it preloads, from the built
index.html), gzipped at level 9, in KB (the budget is 150); and Lighthouse 12.2.3's mobile performance and
accessibility scores (its default mobile emulation and throttling) of the participant's home and balance screens,
logged in as the demo's participant (the session the app keeps in localStorage, seeded before Lighthouse opens
the page in the same browser profile, with Lighthouse told not to clear storage).

    make app && (cd app && npm ci) && python bench/app.py

Needs the built app (app/dist), Lighthouse (app/node_modules, `npm i -E -D lighthouse@12.2.3`), Debian's Chromium
(/usr/bin/chromium, or PLUMB_CHROMIUM) and Playwright for Python. Serves the demo from a temporary SQLite file.
The balance screen is /app/balance (the home screen where the app has no such route yet). Prints figures as it
goes; the last line is one JSON object of the figures. Not asserted anywhere: the numbers vary with the machine."""
import gzip
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.clock import Clock  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.demo import PARTICIPANT, seed_demo  # noqa: E402

DIST = ROOT / "app" / "dist"
LIGHTHOUSE = ROOT / "app" / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENS = {"home": "/app/", "balance": "/app/balance"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_load_js_gzipped_kb() -> float:
    """The entry script and its modulepreloads, each gzipped as a server would send it."""
    html = (DIST / "index.html").read_text()
    scripts = re.findall(r'<script[^>]+src="/app/([^"]+\.js)"', html)
    scripts += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/app/([^"]+\.js)"', html)
    total = sum(len(gzip.compress((DIST / path).read_bytes(), compresslevel=9)) for path in scripts)
    return round(total / 1024, 1)


def serve_demo(folder: str):
    config = Config(database_url=f"sqlite:///{folder}/bench.db", jwt_secret="bench-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    rate_limits_enabled=False, instance_dir=folder)
    migrate(config.database_url)
    app = create_app(config, clock=Clock(fixed_today=date.today()))
    seed_demo(app.extensions["plumb"])
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def chromium() -> str:
    configured = os.environ.get("PLUMB_CHROMIUM")
    return configured or shutil.which("chromium") or "/usr/bin/chromium"


def lighthouse(url: str, debugging_port: int, out: Path) -> dict:
    subprocess.run([str(LIGHTHOUSE), url, "--quiet", f"--port={debugging_port}", "--disable-storage-reset",
                    "--only-categories=performance,accessibility", "--output=json", f"--output-path={out}"],
                   check=True, cwd=ROOT / "app", env={**os.environ, "CHROME_PATH": chromium()})
    report = json.loads(out.read_text())
    return {name: round(category["score"] * 100) for name, category in report["categories"].items()}


def main() -> None:
    logging.disable(logging.INFO)
    missing = [what for what, present in (("the built app (make app)", (DIST / "index.html").is_file()),
                                          ("Lighthouse (make app installs it)", LIGHTHOUSE.is_file()),
                                          ("Chromium (apt-get install chromium)", Path(chromium()).is_file()))
               if not present]
    if missing:  # `make bench` runs on machines without Node or Chromium too: say so, and go on
        print("skipped: needs " + "; ".join(missing))
        print(json.dumps({"skipped": missing}))
        return
    figures = {"first_load_js_kb_gz": first_load_js_gzipped_kb()}
    print(f"first-load JavaScript: {figures['first_load_js_kb_gz']} KB gzipped (budget 150)")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        server, base = serve_demo(folder)
        try:
            tokens = httpx.post(f"{base}/v1/auth/login", json={"email": PARTICIPANT[0],
                                                               "password": PARTICIPANT[1]}).json()
            port = free_port()
            with sync_playwright() as playwright:
                # One profile: the session seeded here is the one Lighthouse's tab finds (it connects over CDP).
                context = playwright.chromium.launch_persistent_context(
                    str(Path(folder) / "profile"), executable_path=chromium(), headless=True,
                    args=CHROME_FLAGS + [f"--remote-debugging-port={port}"])
                page = context.new_page()
                page.goto(f"{base}/app/login")
                page.evaluate("tokens => localStorage.setItem('plumb.session', JSON.stringify(tokens))", tokens)
                page.close()
                for screen, path in SCREENS.items():
                    scores = lighthouse(base + path, port, Path(folder) / f"{screen}.json")
                    figures[f"lighthouse_performance_{screen}"] = scores["performance"]
                    figures[f"lighthouse_accessibility_{screen}"] = scores["accessibility"]
                    print(f"Lighthouse {screen} ({path}): performance {scores['performance']}, "
                          f"accessibility {scores['accessibility']} (targets 90 and 95)")
                context.close()
        finally:
            server.shutdown()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
