"""The push sender through the real firebase-admin SDK: its HTTP requests to FCM's v1 send endpoint go to a local
fake FCM process that answers with FCM's real bodies, so batching, payloads and the mapping of FCM's errors to
outcomes are what production gets."""
import logging
from datetime import datetime, timedelta, timezone

import pytest

from backend.config import Config
from notifications import push
from notifications.push import DELIVERED, REFUSED, RETRY_LATER, TOKEN_GONE, FcmSender, LoggingPushSender, PushMessage
from tests.notifications.conftest import PROJECT, app_name
from tests.support.fake_fcm import OfflineCredential, ToFakeFcm
from tests.support.receivers import free_port


def message(token: str, **data) -> PushMessage:
    return PushMessage(token, "Your election was approved", "Open Plumb to see it",
                       {"kind": "election_approved", "link": f"plumb://elections/{token}", **data})


def test_1200_messages_go_in_three_batches_of_at_most_500_and_all_arrive_with_their_data(sender, fake_fcm, caplog):
    caplog.set_level(logging.DEBUG, logger=push.__name__)
    messages = [message(f"tok-{i}", seq=str(i)) for i in range(1200)]

    outcomes = sender.send(messages)

    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("push: batch")] == [
        "push: batch of 500 to FCM", "push: batch of 500 to FCM", "push: batch of 200 to FCM"]
    # On the wire too: send_each returns only when its whole batch is answered, so the fake receives all of one
    # batch (in any order: one thread per message) before any of the next.
    arrived = [r["message"]["token"] for r in fake_fcm.received()]
    assert [set(arrived[:500]), set(arrived[500:1000]), set(arrived[1000:])] == [
        {m.token for m in messages[:500]}, {m.token for m in messages[500:1000]}, {m.token for m in messages[1000:]}]
    assert [o.status for o in outcomes] == [DELIVERED] * 1200
    assert [o.token for o in outcomes] == [m.token for m in messages]
    assert all(o.message_id.startswith(f"projects/{PROJECT}/messages/") for o in outcomes)
    received = fake_fcm.received()
    assert len(received) == 1200
    by_token = {r["message"]["token"]: r for r in received}
    assert set(by_token) == {m.token for m in messages}
    sample = by_token["tok-777"]
    assert sample["project"] == PROJECT
    assert sample["authorization"] == "Bearer fake-fcm-access-token"
    assert sample["message"]["data"] == {"kind": "election_approved", "link": "plumb://elections/tok-777",
                                         "seq": "777"}
    assert sample["message"]["notification"] == {"title": "Your election was approved",
                                                 "body": "Open Plumb to see it"}


def test_each_fcm_error_maps_to_its_outcome(sender, fake_fcm):
    fake_fcm.answer(gone="UNREGISTERED", bad="INVALID_ARGUMENT", payload="INVALID_PAYLOAD",
                    quota={"error": "QUOTA_EXCEEDED", "retry_after": "30"}, down="UNAVAILABLE",
                    broken="INTERNAL", other="SENDER_ID_MISMATCH")
    tokens = ["ok", "gone", "bad", "payload", "quota", "down", "broken", "other"]

    outcomes = {o.token: o for o in sender.send([message(t) for t in tokens])}

    assert {t: o.status for t, o in outcomes.items()} == {
        "ok": DELIVERED, "gone": TOKEN_GONE, "bad": TOKEN_GONE,
        "payload": REFUSED,  # INVALID_ARGUMENT about the message, not the token: the device stays
        "quota": RETRY_LATER, "down": RETRY_LATER, "broken": RETRY_LATER, "other": REFUSED}
    assert outcomes["quota"].retry_after == timedelta(seconds=30)
    assert outcomes["down"].retry_after is None
    assert outcomes["gone"].detail.startswith("NOT_FOUND")
    assert all(o.message_id is None for t, o in outcomes.items() if t != "ok")


def test_an_unavailable_fcm_is_asked_once_and_the_wait_left_to_the_caller(sender, fake_fcm):
    """The SDK's default would retry a 503 four times, sleeping Retry-After each time, inside the worker."""
    fake_fcm.answer(down={"error": "UNAVAILABLE", "retry_after": "120"})

    [outcome] = sender.send([message("down")])

    assert outcome.status == RETRY_LATER and outcome.retry_after == timedelta(seconds=120)
    assert len(fake_fcm.received()) == 1


def test_an_unreachable_fcm_means_retry_later(fake_fcm):
    transport = ToFakeFcm(f"http://127.0.0.1:{free_port()}", max_retries=push.RETRIES)
    sender = FcmSender(OfflineCredential(), PROJECT, app_name=app_name(), transport=transport)
    try:
        [outcome] = sender.send([message("tok")])
    finally:
        sender.close()
    assert outcome.status == RETRY_LATER


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    assert push.retry_after_of("45", now) == timedelta(seconds=45)
    assert push.retry_after_of("Tue, 01 Dec 2026 00:02:00 GMT", now) == timedelta(minutes=2)
    assert push.retry_after_of("Mon, 30 Nov 2026 23:00:00 GMT", now) == timedelta(0)  # already past
    assert push.retry_after_of("soon", now) is None
    assert push.retry_after_of(None, now) is None


def test_the_logging_sender_logs_kind_and_deep_link_but_never_the_text(caplog):
    caplog.set_level(logging.DEBUG)
    secret = PushMessage("device-token-1", "Maria, you hit 90% of the limit", "Balance $12,345.67",
                         {"kind": "limit_approaching", "link": "plumb://balance"})

    outcomes = LoggingPushSender().send([secret])

    assert [o.status for o in outcomes] == [DELIVERED]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "limit_approaching" in logged and "plumb://balance" in logged
    assert "Maria" not in logged and "12,345" not in logged and "90%" not in logged
    assert "device-token-1" not in logged


def test_without_credentials_the_logging_sender_is_used_and_says_so():
    sender = push.push_sender(Config(database_url="sqlite://", jwt_secret="x", pii_key="y"))
    assert isinstance(sender, LoggingPushSender)
    assert "only logged" in push.describe_push_sender(sender)


def test_with_a_service_account_file_the_fcm_sender_is_used(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    path = tmp_path / "service-account.json"
    path.write_text(__import__("json").dumps({
        "type": "service_account", "project_id": "plumb-prod", "private_key_id": "k1", "private_key": key,
        "client_email": "push@plumb-prod.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"}))
    sender = push.push_sender(Config(database_url="sqlite://", jwt_secret="x", pii_key="y",
                                     fcm_credentials_file=str(path)))
    try:
        assert isinstance(sender, FcmSender)
        assert push.describe_push_sender(sender) == "push through FCM, project plumb-prod"
    finally:
        sender.close()


def test_a_push_data_payload_maps_text_to_text():
    with pytest.raises(ValueError):
        PushMessage("tok", "t", "b", {"amount": 12})
    with pytest.raises(ValueError):
        PushMessage("", "t", "b")
