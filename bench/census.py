"""Benchmark: load a 100,000-row census CSV through the API (the row cap, `census_max_rows`) on a threaded server,
while another writer changes a plan's compliance settings every second; then send the same file again.

Figures: the upload's seconds and rows per second; the process's peak RSS before and after the upload (server and
client share the process, so the growth is what the upload cost); every concurrent write's status and seconds,
against the same write made alone before the upload (the baseline); the re-upload's seconds (every row found
unchanged). The upload is written in batches, each its own short transaction, so the concurrent writes should all
answer 200, on SQLite too, where one write lock serves the whole database.

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/census.py

Creates a scratch database next to the one in DATABASE_URL (or a temporary SQLite file) and drops it afterwards.
Prints figures as it goes; the last line is one JSON object of the figures."""
import csv
import io
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.clock import Clock  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.identity.service import create_user  # noqa: E402
from scratch import ScratchDatabase  # noqa: E402
from tests import scenario  # noqa: E402  (reads the invitation the sponsor admin received)

ROWS = 100_000
TODAY = date(2026, 11, 24)
PASSWORD = "census-bench-passphrase-2026"
FIELDS = ["external_id", "first_name", "last_name", "date_of_birth", "ssn", "email", "phone", "hire_date",
          "annual_compensation", "hours", "ownership_percent", "officer"]


def census_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for i in range(rows):
        writer.writerow([f"E{i:06d}", "Pat", f"Worker{i}", f"{1950 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                         f"{100000000 + i}", f"pat{i}@example.com", "+1 555 010 0000",
                         f"{2005 + i % 20}-{1 + i % 12:02d}-01", f"{30000 + i % 150000}.00", str(500 + i % 2000),
                         "0", "false"])
    return out.getvalue().encode()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main() -> None:
    scratch = ScratchDatabase(os.environ.get("DATABASE_URL"))
    instance = tempfile.TemporaryDirectory()
    server = None
    try:
        migrate(scratch.url)
        config = Config(database_url=scratch.url, jwt_secret="bench" * 8, pii_key=Fernet.generate_key().decode(),
                        rate_limits_enabled=False, allow_loopback_http=True, instance_dir=instance.name)
        app = create_app(config, clock=Clock(fixed_today=TODAY))
        plumb = app.extensions["plumb"]
        print(f"database: {plumb.db.dialect}")
        with plumb.db.transaction() as session:
            create_user(session, config, email="advisor@bench.example", password=PASSWORD, role="advisor")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request would drown the figures
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=900)

        def bearer(response) -> dict:
            assert response.status_code in (200, 201), response.text[:500]
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        advisor = bearer(client.post("/v1/auth/login", json={"email": "advisor@bench.example", "password": PASSWORD}))
        setup = client.post("/v1/plans/setup", headers=advisor, json={
            "template": "safe_harbor_match",
            "employer": {"name": "Bench Census Co", "ein": "12-3456789",
                         "address": {"line1": "1 Main St", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": "2026-01-02"}},
            "sponsor_admin": {"email": "sponsor@bench.example"}, "plan": {"effective_date": "2026-01-01"}})
        assert setup.status_code == 201, setup.text[:500]
        # The token reaches the sponsor admin only (as a message), never the advisor's answer.
        sponsor = bearer(client.post("/v1/auth/invitations/accept", json={
            "token": scenario.sponsor_token(app, "sponsor@bench.example"), "password": PASSWORD}))
        employer_id, plan_id = setup.json()["employer"]["id"], setup.json()["plan"]["id"]

        def small_write(margin: str) -> tuple[int, float]:
            started = time.perf_counter()
            response = client.put(f"/v1/plans/{plan_id}/compliance/settings", headers=sponsor,
                                  json={"warning_margin": margin})
            return response.status_code, time.perf_counter() - started

        baseline = statistics.median(small_write("1.5")[1] for _ in range(5))
        body = census_file(ROWS)
        print(f"census file: {ROWS:,} rows, {len(body) / 1e6:.1f} MB; a compliance-settings write alone takes "
              f"{baseline * 1000:.1f} ms")
        rss_before = peak_rss_mb()
        upload: dict = {}

        def run_upload():
            started = time.perf_counter()
            response = client.post(f"/v1/employers/{employer_id}/employees/csv", content=body,
                                   headers={**sponsor, "Content-Type": "text/csv"})
            upload.update(status=response.status_code, seconds=time.perf_counter() - started,
                          body=response.json() if response.status_code == 200 else response.text[:500])

        uploader = threading.Thread(target=run_upload)
        uploader.start()
        writes = []
        while uploader.is_alive():
            uploader.join(1.0)
            if uploader.is_alive():
                writes.append(small_write("2" if len(writes) % 2 else "1.5"))
        assert upload["status"] == 200, upload
        rss_after = peak_rss_mb()
        assert upload.pop("body")["created"] == ROWS
        print(f"  upload: {upload['seconds']:.1f} s ({ROWS / upload['seconds']:,.0f} rows/s); peak RSS "
              f"{rss_before:.0f} MB before, {rss_after:.0f} MB after")
        statuses = sorted({status for status, _ in writes})
        slowest = max((seconds for _, seconds in writes), default=0.0)
        print(f"  {len(writes)} compliance-settings writes during the upload: statuses {statuses}, slowest "
              f"{slowest:.2f} s, median {statistics.median(s for _, s in writes) if writes else 0:.3f} s")
        started = time.perf_counter()
        again = client.post(f"/v1/employers/{employer_id}/employees/csv", content=body,
                            headers={**sponsor, "Content-Type": "text/csv"})
        reupload = time.perf_counter() - started
        assert again.status_code == 200 and again.json()["unchanged"] == ROWS, again.text[:500]
        print(f"  the same file again: {reupload:.1f} s, every row unchanged")
        figures = {
            "database": plumb.db.dialect, "rows": ROWS, "file_mb": round(len(body) / 1e6, 1),
            "upload_seconds": round(upload["seconds"], 1), "rows_per_s": round(ROWS / upload["seconds"]),
            "peak_rss_mb_before": round(rss_before), "peak_rss_mb_after": round(rss_after),
            "rss_growth_mb": round(rss_after - rss_before),
            "concurrent_writes": len(writes), "concurrent_write_statuses": statuses,
            "concurrent_write_slowest_s": round(slowest, 3),
            "concurrent_write_slowest_over_alone": round(slowest / baseline, 1),
            "reupload_unchanged_seconds": round(reupload, 1),
        }
        print(json.dumps(figures))
    finally:
        if server is not None:
            server.shutdown()
        scratch.drop()
        instance.cleanup()


if __name__ == "__main__":
    main()
