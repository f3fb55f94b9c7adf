"""The notifications tests' fake FCM (a local process answering FCM's v1 send endpoint) and a real FCM sender
(firebase-admin) pointed at it."""
import itertools

import pytest

from notifications import push
from notifications.push import FcmSender
from tests.support.fake_fcm import FakeFcm, OfflineCredential, ToFakeFcm
from tests.support.receivers import free_port

PROJECT = "plumb-test"
_apps = itertools.count()


def app_name() -> str:
    """A firebase app name of its own for each sender (the SDK keeps its apps by name, process-wide)."""
    return f"plumb-push-test-{next(_apps)}"


@pytest.fixture(scope="module")
def fake_fcm(tmp_path_factory):
    fake = FakeFcm(tmp_path_factory.mktemp("fcm"), free_port()).start()
    yield fake
    fake.stop()


@pytest.fixture
def sender(fake_fcm):
    """The SDK's own sender, each test on a firebase app of its own, the fake answering every token with success
    until the test says otherwise."""
    fake_fcm.answer()
    transport = ToFakeFcm(fake_fcm.base_url, pool_connections=push.BATCH_SIZE, pool_maxsize=push.BATCH_SIZE,
                          max_retries=push.RETRIES)
    sender = FcmSender(OfflineCredential(), PROJECT, app_name=app_name(), transport=transport)
    yield sender
    sender.close()
