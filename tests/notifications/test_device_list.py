"""GET /mobile/v1/devices (and /v1/me/devices for staff) lists one's own devices that get pushes, without their
tokens, so the app's settings can show where one is signed in and stop one."""
from tests import scenario


def test_a_participant_sees_their_own_devices_without_tokens_and_not_anyone_elses(app, client):
    world = scenario.World(app, client)
    for token, platform in (("fcm-phone-1", "android"), ("fcm-browser-1", "web")):
        answer = client.post("/mobile/v1/devices", headers=world.participant,
                             json={"token": token, "platform": platform, "locale": "es-MX"})
        assert answer.status_code == 200, answer.json
    client.post("/v1/me/devices", headers=world.sponsor, json={"token": "fcm-sponsor-1", "platform": "web"})

    mine = client.get("/mobile/v1/devices", headers=world.participant).json
    assert sorted((d["platform"], d["locale"]) for d in mine) == [("android", "es-MX"), ("web", "es-MX")]
    assert all("token" not in d for d in mine)
    assert [d["platform"] for d in client.get("/v1/me/devices", headers=world.sponsor).json] == ["web"]

    phone, browser = sorted(mine, key=lambda d: d["platform"])
    assert client.delete(f"/mobile/v1/devices/{phone['id']}", headers=world.participant).status_code == 204
    assert [d["id"] for d in client.get("/mobile/v1/devices", headers=world.participant).json] == [browser["id"]]
