"""Security review H-1: a payroll connection cannot aim Plumb's outbound calls at internal services, and nothing a
receiver answers but its status reaches a sponsor or a participant.

DNS is simulated by the resolver the application's outbound policy is given (`plumb.outbound.resolver`), never by
patching the socket module; the receivers are small HTTP servers of this file on 127.0.0.1."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from backend.app import create_app
from backend.clock import Clock
from backend.config import Config
from backend.db import alembic_config
from backend.payroll.outbound import AddressNotAllowed, OutboundPolicy, address_refusal, failure_reason
from backend.payroll.sync import TOPIC, KeptAlive
from tests import scenario
from tests.conftest import TODAY
from tests.support.outbox import drain
from tests.support.problems import assert_problem

SECRET_BODY = "INTERNAL-ONLY: db_password=hunter2; this text came from a service on 127.0.0.1"
PUBLIC = "93.184.216.34"  # an address on the public internet (never connected to here: DNS "changes" first)
GUSTO_CONFIG = {"access_token": "tok", "company_benefit_uuids": {"pretax": "b-401k", "roth": "b-roth"}}
FINCH_CONFIG = {"access_token": "tok"}


class Listener:
    """A receiver on 127.0.0.1 (or another loopback address) answering every request with one status, body and
    headers; it counts the connections made to it and keeps the requests."""

    def __init__(self, status: int = 200, body: str = "{}", headers: dict | None = None, host: str = "127.0.0.1"):
        self.status, self.body, self.headers = status, body, headers or {}
        self.connections, self.requests = 0, []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                listener.requests.append((self.command, self.path, self.headers.get("Host"), self.rfile.read(length)))
                payload = listener.body.encode()
                self.send_response(listener.status)
                for name, value in {"Content-Type": "text/plain", **listener.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                listener.connections += 1
                return True

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/deferrals"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listeners():
    made = []

    def make(*args, **kwargs) -> Listener:
        made.append(Listener(*args, **kwargs))
        return made[-1]

    yield make
    for listener in made:
        listener.stop()


@pytest.fixture
def strict_app(database_url, tmp_path):
    """The application as production runs it: loopback http not allowed."""
    config = Config(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    allow_loopback_http=False, rate_limits_enabled=False, instance_dir=str(tmp_path), testing=True)
    application = create_app(config, clock=Clock(fixed_today=TODAY))
    yield application
    application.extensions["plumb"].db.engine.dispose()


class Dns:
    """The resolver handed to the outbound policy: names answer what the test says, and every lookup is kept."""

    def __init__(self, **answers: list[str]):
        self.answers, self.lookups = dict(answers), []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host in self.answers:
            return list(self.answers[host])
        return [host]  # an IP literal resolves to itself


def connect(client, world, url: str, provider: str = "plumb_webhook", config: dict | None = None, headers=None):
    return client.post(f"/v1/employers/{world.employer_id}/payroll-connections", headers=headers or world.sponsor,
                       json={"provider": provider, "endpoint_url": url, "config": config or {}})


def elect(client, world, percent: str = "7"):
    response = client.post("/mobile/v1/elections", headers=world.participant,
                           json={"lines": [{"money_type": "pretax", "percent": percent}]})
    assert response.status_code == 201, response.json


def what_they_see(client, world) -> tuple[list[dict], str]:
    """The sponsor's payroll-messages view and the participant's election view, as the texts they are shown."""
    messages = client.get(f"/v1/employers/{world.employer_id}/payroll-messages?status=all",
                          headers=world.sponsor).json["data"]
    elections = client.get("/mobile/v1/elections", headers=world.participant)
    return messages, elections.get_data(as_text=True)


# ---- The address rules, with worked examples -------------------------------------------------------------------

@pytest.mark.parametrize("address, refusal", [
    ("127.0.0.1", "a loopback address (127.0.0.1)"),
    ("::1", "a loopback address (::1)"),
    ("10.1.2.3", "a private address (10.1.2.3)"),            # RFC 1918
    ("172.16.0.1", "a private address (172.16.0.1)"),
    ("192.168.1.1", "a private address (192.168.1.1)"),
    ("100.64.0.1", "not a public address (100.64.0.1)"),     # CGNAT, RFC 6598
    ("169.254.169.254", "a link-local address (169.254.169.254)"),  # cloud metadata
    ("fd00:ec2::254", "a private address (fd00:ec2::254)"),  # cloud metadata over IPv6 (unique-local)
    ("fe80::1%eth0", "a link-local address (fe80::1%eth0)"),
    ("224.0.0.1", "a multicast address (224.0.0.1)"),
    ("ff02::1", "a multicast address (ff02::1)"),
    ("0.0.0.0", "an unspecified address (0.0.0.0)"),
    ("::", "an unspecified address (::)"),
    ("240.0.0.1", "a reserved address (240.0.0.1)"),
    ("::ffff:127.0.0.1", "a loopback address (::ffff:127.0.0.1)"),    # IPv4-mapped IPv6
    ("::ffff:169.254.169.254", "a link-local address (::ffff:169.254.169.254)"),
    ("2002:a00:1::", "a private address (2002:a00:1::)"),    # 6to4 of 10.0.0.1
])
def test_internal_addresses_are_refused_as_payroll_destinations(address, refusal):
    assert address_refusal(address) == refusal


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "::ffff:8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed_as_payroll_destinations(address):
    assert address_refusal(address) is None


def test_the_loopback_setting_allows_loopback_addresses_and_nothing_else_internal():
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("::ffff:127.0.0.1", allow_loopback=True) is None
    assert address_refusal("10.0.0.1", allow_loopback=True) == "a private address (10.0.0.1)"
    assert address_refusal("169.254.169.254", allow_loopback=True) == "a link-local address (169.254.169.254)"


@pytest.mark.parametrize("url, allow_loopback, reason", [
    ("http://payroll.example.com/deferrals", False, "must be an https URL"),
    ("http://127.0.0.1:5199/internal-admin", False, "must be an https URL"),
    ("http://payroll.example.com/deferrals", True, "must be an https URL"),  # the setting is for loopback only
    ("http://10.0.0.5/", True, "must be an https URL"),
    ("ftp://payroll.example.com/", False, "must be an https URL"),
    ("https://user:pw@payroll.example.com/", False, "must not carry a user name or password"),
    ("https:///deferrals", False, "must name a host"),
    ("https://127.0.0.1/", False, "points to a loopback address (127.0.0.1), where payroll data may not go"),
    ("https://[::ffff:a9fe:a9fe]/", False,
     "points to a link-local address (::ffff:a9fe:a9fe), where payroll data may not go"),
    ("https://10.0.0.5/", True, "points to a private address (10.0.0.5), where payroll data may not go"),
])
def test_a_url_is_refused_unless_https_to_a_public_host_or_http_to_loopback_when_allowed(url, allow_loopback,
                                                                                        reason):
    with pytest.raises(AddressNotAllowed) as refused:
        OutboundPolicy(allow_loopback_http=allow_loopback, resolver=Dns()).check_url(url)
    assert refused.value.reason == reason


def test_https_to_a_public_host_and_http_to_loopback_when_allowed_pass_the_url_check():
    strict, development = OutboundPolicy(resolver=Dns()), OutboundPolicy(allow_loopback_http=True, resolver=Dns())
    assert strict.check_url("https://Payroll.Example.com/deferrals") == ("https", "payroll.example.com", 443)
    assert development.check_url("http://127.0.0.1:5199/x") == ("http", "127.0.0.1", 5199)
    assert development.check_url("http://localhost:8080/x") == ("http", "localhost", 8080)


def test_one_internal_address_among_a_names_answers_refuses_the_name():
    """A name answering a public and a private address is refused: the connection could go to either."""
    policy = OutboundPolicy(resolver=Dns(**{"payroll.example.com": [PUBLIC, "10.0.0.7"]}))
    with pytest.raises(AddressNotAllowed) as refused:
        policy.addresses("payroll.example.com", 443)
    assert refused.value.reason == ("payroll.example.com resolves to a private address (10.0.0.7), where payroll "
                                    "data may not go")
    assert OutboundPolicy(resolver=Dns(**{"payroll.example.com": [PUBLIC]})).addresses("payroll.example.com",
                                                                                       443) == [PUBLIC]


def test_localhost_must_resolve_to_loopback_as_plain_http_to_it_is_allowed_for_that():
    policy = OutboundPolicy(allow_loopback_http=True, resolver=Dns(localhost=[PUBLIC]))
    with pytest.raises(AddressNotAllowed) as refused:
        policy.addresses("localhost", 80)
    assert refused.value.reason == f"localhost resolves to {PUBLIC}, not a loopback address"


def test_a_failure_is_told_by_its_kind_never_by_its_text():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused: " + SECRET_BODY)
        except OSError as cause:
            raise RuntimeError(SECRET_BODY) from cause
    except RuntimeError as wrapped:
        assert failure_reason(wrapped) == "connection refused"
    assert failure_reason(AddressNotAllowed("whatever")) == "address not allowed"
    assert failure_reason(TimeoutError()) == "timed out"
    assert failure_reason(ValueError(SECRET_BODY)) == "connection failed"


def test_the_kept_alive_client_connects_to_the_address_the_policy_checked_and_names_the_host(listeners):
    """Resolved once, by the policy: the socket goes to the checked address (127.0.0.2 here, where the system's own
    answer for localhost would be 127.0.0.1), the Host header keeps the name."""
    receiver = listeners(host="127.0.0.2")
    dns = Dns(localhost=["127.0.0.2"])
    client = KeptAlive(OutboundPolicy(allow_loopback_http=True, resolver=dns))
    status, _ = client.post(f"http://localhost:{receiver.port}/deferrals", b"{}", {}, 5)
    assert status == 200 and dns.lookups == ["localhost"]
    assert receiver.requests[0][:3] == ("POST", "/deferrals", f"localhost:{receiver.port}")


# ---- Creating a connection ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:5199/internal-admin", "must be an https URL"),
    ("http://payroll.example.com/deferrals", "must be an https URL"),
    ("https://127.0.0.1:5199/internal-admin",
     "points to a loopback address (127.0.0.1), where payroll data may not go"),
    ("https://10.0.0.5/deferrals", "points to a private address (10.0.0.5), where payroll data may not go"),
    ("https://169.254.169.254/latest/meta-data/",
     "points to a link-local address (169.254.169.254), where payroll data may not go"),
    ("https://[fd00:ec2::254]/", "points to a private address (fd00:ec2::254), where payroll data may not go"),
    ("https://internal.example.com/deferrals",
     "internal.example.com resolves to a private address (192.168.10.20), where payroll data may not go"),
])
def test_a_connection_to_an_internal_or_plain_http_endpoint_is_refused_in_production(strict_app, url, reason):
    client = strict_app.test_client()
    strict_app.extensions["plumb"].outbound.resolver = Dns(**{"internal.example.com": ["192.168.10.20"]})
    world = scenario.World(strict_app, client, requires_approval=False)
    for provider, config in (("plumb_webhook", {}), ("gusto", GUSTO_CONFIG), ("finch", FINCH_CONFIG)):
        body = assert_problem(connect(client, world, url, provider, config), 422)
        assert body["errors"] == [{"field": "endpoint_url", "message": reason}]
    assert client.get(f"/v1/employers/{world.employer_id}/payroll-connections", headers=world.sponsor).json == []


def test_an_endpoint_url_longer_than_its_column_is_refused_not_a_500(client, app):
    world = scenario.World(app, client, requires_approval=False)
    body = assert_problem(connect(client, world, "https://payroll.example.com/" + "d" * 480), 422)
    assert [e["field"] for e in body["errors"]] == ["endpoint_url"]


def test_a_connection_to_a_public_https_endpoint_is_made_in_production(strict_app):
    client = strict_app.test_client()
    strict_app.extensions["plumb"].outbound.resolver = Dns(**{"payroll.example.com": [PUBLIC]})
    world = scenario.World(strict_app, client, requires_approval=False)
    response = connect(client, world, "https://payroll.example.com/deferrals")
    assert response.status_code == 201, response.json


def test_only_the_sponsor_chooses_where_payroll_data_goes(client, app):
    world = scenario.World(app, client, requires_approval=False)
    refused = connect(client, world, "http://127.0.0.1:9/deferrals", headers=world.advisor)
    assert_problem(refused, 403)
    assert client.get(f"/v1/employers/{world.employer_id}/payroll-connections", headers=world.sponsor).json == []


# ---- Calling out ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("provider, config, shown", [
    ("plumb_webhook", {}, "address not allowed"),
    ("gusto", GUSTO_CONFIG, "Gusto: address not allowed"),
    ("finch", FINCH_CONFIG, "Finch: address not allowed"),
])
def test_an_endpoint_whose_name_now_resolves_to_an_internal_address_is_not_called(strict_app, listeners, provider,
                                                                                  config, shown):
    """DNS rebinding: the name was public when the connection was made, then answers loopback (where a service
    listens); the delivery fails as "address not allowed" and nothing connects to that service."""
    client, plumb = strict_app.test_client(), strict_app.extensions["plumb"]
    internal = listeners(418, SECRET_BODY)
    dns = plumb.outbound.resolver = Dns(**{"payroll.example.com": [PUBLIC]})
    world = scenario.World(strict_app, client, requires_approval=False)
    assert connect(client, world, f"https://payroll.example.com:{internal.port}/", provider, config).status_code == 201
    dns.answers["payroll.example.com"] = ["127.0.0.1"]
    elect(client, world)
    drain(plumb, passes=3)
    messages, election_view = what_they_see(client, world)
    assert [m["last_error"] for m in messages] == [shown]
    assert shown in election_view
    assert internal.connections == 0


@pytest.mark.parametrize("provider, config, shown", [
    ("plumb_webhook", {}, "redirect not followed (HTTP 302 from the payroll endpoint)"),
    ("gusto", GUSTO_CONFIG,
     "Gusto: redirect not followed (HTTP 302 from the payroll endpoint) reading the employee's benefits"),
    ("finch", FINCH_CONFIG, "Finch: redirect not followed (HTTP 302 from the payroll endpoint)"),
])
def test_a_redirect_is_not_followed(app, client, plumb, listeners, provider, config, shown):
    target = listeners(200, "{}")
    redirecting = listeners(302, "", {"Location": target.url})
    world = scenario.World(app, client, requires_approval=False)
    assert connect(client, world, redirecting.url, provider, config).status_code == 201
    elect(client, world)
    drain(plumb, passes=2)
    messages, _ = what_they_see(client, world)
    assert messages[0]["status"] in ("pending", "dead") and messages[0]["last_error"] == shown
    assert redirecting.requests and target.connections == 0


@pytest.mark.parametrize("provider, config, shown", [
    ("plumb_webhook", {}, "HTTP 418 from the payroll endpoint"),
    ("gusto", GUSTO_CONFIG, "Gusto: HTTP 418 from the payroll endpoint reading the employee's benefits"),
    ("finch", FINCH_CONFIG, "Finch: HTTP 418 from the payroll endpoint"),
])
def test_a_refusal_shows_its_status_but_never_the_receivers_body(app, client, plumb, listeners, caplog, provider,
                                                                 config, shown):
    receiver = listeners(418, SECRET_BODY)
    world = scenario.World(app, client, requires_approval=False)
    assert connect(client, world, receiver.url, provider, config).status_code == 201
    elect(client, world)
    drain(plumb)
    messages, election_view = what_they_see(client, world)
    assert [(m["status"], m["last_error"]) for m in messages] == [("dead", shown)]
    assert shown in election_view
    assert "hunter2" not in str(messages) + election_view + caplog.text


def test_re_aiming_a_connection_and_retrying_gives_no_body_back(app, client, plumb, listeners, monkeypatch):
    """The review's loop: point the connection somewhere, retry the dead letter, read what came back. Only a status
    and a classification come back, so no internal text is read through it."""
    # Each retry uses the connection just made (the deliverer keeps a connection for a second otherwise).
    monkeypatch.setattr(plumb.deliverers[TOPIC].keywords["connections"], "max_age", 0)
    world = scenario.World(app, client, requires_approval=False)
    first = listeners(418, SECRET_BODY)
    assert connect(client, world, first.url).status_code == 201
    elect(client, world)
    drain(plumb)
    seen = []
    for answer in (listeners(405, '{"detail": "The method is not allowed for the requested URL."}'), None):
        url = answer.url if answer else "http://127.0.0.1:1/v1/auth/me"
        assert connect(client, world, url).status_code == 201
        dead = client.get(f"/v1/employers/{world.employer_id}/payroll-messages", headers=world.sponsor).json["data"]
        assert client.post(f"/v1/payroll-messages/{dead[0]['id']}/retry", headers=world.sponsor).status_code == 200
        drain(plumb, passes=5)
        seen.append(what_they_see(client, world))
    shown = [messages[0]["last_error"] for messages, _ in seen]
    assert shown == ["HTTP 405 from the payroll endpoint", "connection refused"]
    for messages, election_view in seen:
        assert "hunter2" not in str(messages) + election_view and "not allowed for" not in str(messages)


def test_re_aiming_at_an_internal_service_is_refused_in_production(strict_app, listeners):
    """In production the loop stops at the first step: the re-aimed connection is refused and the retried
    message still goes nowhere internal."""
    client, plumb = strict_app.test_client(), strict_app.extensions["plumb"]
    internal = listeners(418, SECRET_BODY)
    dns = plumb.outbound.resolver = Dns(**{"payroll.example.com": [PUBLIC]})
    world = scenario.World(strict_app, client, requires_approval=False)
    assert connect(client, world, f"https://payroll.example.com:{internal.port}/").status_code == 201
    dns.answers["payroll.example.com"] = ["127.0.0.1"]
    elect(client, world)
    drain(plumb)
    assert_problem(connect(client, world, internal.url), 422)
    dead = client.get(f"/v1/employers/{world.employer_id}/payroll-messages", headers=world.sponsor).json["data"]
    client.post(f"/v1/payroll-messages/{dead[0]['id']}/retry", headers=world.sponsor)
    drain(plumb)
    messages, election_view = what_they_see(client, world)
    assert messages[0]["last_error"] == "address not allowed" and internal.connections == 0


def test_receiver_answers_kept_before_the_fix_are_cut_to_their_status_by_the_migration(scratch_url):
    command.upgrade(alembic_config(scratch_url), "0011")
    before = {1: f"HTTP 418: {SECRET_BODY}", 2: f"HTTP 302: {SECRET_BODY}",
              3: f"Gusto answered HTTP 500 reading the employee's benefits: {SECRET_BODY}",
              4: f"Finch answered HTTP 401: Error code: 401 - {SECRET_BODY}",
              5: f"Finch job job_9 (enroll pretax) failed: {SECRET_BODY}",
              6: "ConnectError: [Errno 111] Connection refused", 7: None}
    engine = create_engine(scratch_url)
    with engine.begin() as connection:
        for seq, error in before.items():
            connection.execute(text(
                "INSERT INTO outbox_messages (seq, id, topic, recipient, payload, status, attempts, next_attempt_at, "
                "last_error, created_at) VALUES (:seq, :id, 'payroll.deferral_change', 'payroll', '{}', 'dead', 1, "
                "'2026-11-01 09:00:00', :error, '2026-11-01 09:00:00')"),
                {"seq": seq, "id": f"msg_{seq}", "error": error})
    command.upgrade(alembic_config(scratch_url), "head")
    with engine.connect() as connection:
        after = dict(connection.execute(text("SELECT seq, last_error FROM outbox_messages")).all())
    engine.dispose()
    assert after == {1: "HTTP 418 from the payroll endpoint",
                     2: "redirect not followed (HTTP 302 from the payroll endpoint)",
                     3: "Gusto: HTTP 500 from the payroll endpoint reading the employee's benefits",
                     4: "Finch: HTTP 401 from the payroll endpoint", 5: "Finch job (enroll pretax) failed",
                     6: "ConnectError: [Errno 111] Connection refused", 7: None}
