"""The words of the invitation messages (topic `invitation`, enqueued by backend/plans/invitations.py): what the
employee or sponsor admin reads, with the code or token opened from its sealed form only here, at delivery."""
from dataclasses import dataclass
from collections.abc import Mapping

from backend.plans.pii import PiiVault


@dataclass(frozen=True)
class Rendered:
    to: list[str]
    subject: str
    body: str


def render(payload: Mapping, vault: PiiVault) -> Rendered:
    """One message ready to send: its addresses (email and/or phone), subject and text."""
    kind = payload["kind"]
    to = [value for value in (payload["to"].get("email"), payload["to"].get("phone")) if value]
    employer = payload.get("employer_name", "your employer")
    hello = f"Hello {payload['first_name']}," if payload.get("first_name") else "Hello,"
    if kind == "participant_invitation":
        code = vault.open(payload["secret_sealed"].encode())
        why = {"resent": "Your employer sent you a new code; any earlier one no longer works.",
               "contact_changed": "Your contact details changed; any earlier code no longer works.",
               "account_unlinked": "Your employer unlinked the account that had been created for you; sign up again."
               }.get(payload.get("reason"), "")
        return Rendered(to, f"Your {employer} 401(k): sign up on the Plumb app", "\n".join(filter(None, [
            hello, "", f"{employer} offers you a 401(k) plan through Plumb. To sign up in the Plumb app, enter",
            "", f"    Invite code: {code}", "",
            "with your date of birth and the last four digits of your SSN.", why, "",
            "Nobody at your employer can see this code. If you did not expect this message, ignore it."])) + "\n")
    if kind == "sponsor_invitation":
        token = vault.open(payload["secret_sealed"].encode())
        return Rendered(to, f"Plumb: administer the 401(k) plan of {employer}", "\n".join([
            "Hello,", "", f"Your advisor set up the 401(k) plan of {employer} on Plumb and named you its admin.",
            "Choose your password by accepting this invitation (POST /v1/auth/invitations/accept):", "",
            f"    Invitation token: {token}", "", f"It expires at {payload.get('expires_at')}."]) + "\n")
    if kind == "signing_link":
        # The link is the credential: opened from its sealed form only here, as it is mailed.
        link = payload["link_base"] + vault.open(payload["secret_sealed"].encode())
        return Rendered(to, f"Plumb: sign the 401(k) plan documents of {employer}", "\n".join([
            "Hello,", "", f"The {payload.get('document_title', 'Adoption Agreement')} of the {payload.get('plan_name')} "
            f"of {employer} (version {payload.get('version')}) is ready for your signature.",
            "Open this link to read it and sign it; you do not need an account:", "",
            f"    Sign here: {link}", "",
            f"The link works once, until {payload.get('expires_at')}; a newer link replaces it.",
            f"The document's SHA-256: {payload.get('sha256')}",
            "If you did not expect this message, do not open the link; tell your advisor."]) + "\n")
    if kind == "contact_changed":
        return Rendered(to, f"Your {employer} 401(k): your contact details changed", "\n".join([
            hello, "", f"{employer} changed the email or phone where Plumb reaches you. The sign-up code sent here",
            "no longer works; a new one went to the new contact. If you did not ask for this, tell your employer."])
            + "\n")
    if kind == "account_unlinked":
        return Rendered(to, f"Your {employer} 401(k): an account was unlinked from you", "\n".join([
            hello, "", f"{employer} found that the Plumb account linked to your 401(k) was not created by you and",
            "has unlinked it. A new sign-up code follows in a separate message. If you did create that account,",
            "tell your employer."]) + "\n")
    raise ValueError(f"unknown invitation message kind {kind!r}")
