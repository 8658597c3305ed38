"""A real NCA GOST 2015 test key, signed the way NCALayer signs, gets a lawyer into a hearing.

Configured as a court would configure it: trust anchors, intermediate and CRL
files in the settings. Needs ../shared/fixtures/nca-test (skipped without it);
the same flow runs on the project's own test PKI in test_invitations.py.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import pytest
from support.eds_login import api, challenge
from support.media import SolidColorTrack, color_close
from support.peers import join_and_publish, seen_color
from support.running import TEST_COURT
from support.waiting import wait_until
from test_eds_nca_fixtures import GOST, gost_cms

from server.settings import Settings
from signaling.client import HearingClient

pytestmark = pytest.mark.skipif(
    not (GOST / "root_test_gost_2022.cer").is_file(), reason="NCA test fixtures are absent"
)

# The fixture keys are valid until 2027-05-08 and their CRL until 2027-02-07.
if datetime.now(UTC) >= datetime(2027, 2, 7, tzinfo=UTC):
    pytestmark = pytest.mark.skip(reason="the NCA test CRL is past its nextUpdate")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "eds_trust_anchors": [GOST / "root_test_gost_2022.cer"],
            "eds_intermediates": [GOST / "nca_gost2022_test.cer"],
            "eds_crl_files": [GOST / "nca_gost2022_test.crl"],
        }
    )


async def test_lawyer_with_a_real_nca_key_joins_by_invitation(tyndau) -> None:
    await tyndau.ctx.directory.upsert(
        iin="850505400123", full_name="Хатшы", roles=["secretary"], court=TEST_COURT
    )
    secretary, _ = tyndau.ctx.issuer.issue_session(
        user_id="sec", iin="850505400123", name="Хатшы", roles=["secretary"]
    )
    status, created = await api(
        tyndau.url,
        "POST",
        "/api/hearings/hearing-a/invitations",
        json={"role": "lawyer", "name": "ТЕСТОВ ТЕСТ", "iin": "123456789011"},
        token=secretary,
    )
    assert status == 201, created
    nonce = await challenge(tyndau.url)
    cms = base64.b64encode(gost_cms("individual/valid/individual_valid.p12", nonce)).decode()
    status, login = await api(tyndau.url, "POST", "/api/auth/eds", json={"cms": cms})
    assert status == 200, login
    assert login["person"]["iin"] == "123456789011"
    assert login["roles"] == []  # not in the court directory: no staff rights
    code = created["link"].split("#invite=", 1)[1]
    status, redeemed = await api(
        tyndau.url, "POST", "/api/invitations/redeem", json={"code": code}, token=login["token"]
    )
    assert status == 200, redeemed
    judge = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"))
    lawyer = HearingClient(tyndau.url, redeemed["token"])
    try:
        await lawyer.connect()
        joined = await lawyer.join()
        assert joined["self"]["role"] == "lawyer"
        await lawyer.publish(SolidColorTrack((20, 160, 90)))
        await wait_until(lambda: len(judge.active_tracks()) == 1, 15, "the judge to see the lawyer")
        (video,) = judge.active_tracks()
        assert color_close(await seen_color(video, (20, 160, 90)), (20, 160, 90))
    finally:
        await asyncio.gather(judge.close(), lawyer.close())


async def test_a_revoked_real_key_is_refused(tyndau) -> None:
    nonce = await challenge(tyndau.url)
    cms = base64.b64encode(gost_cms("individual/revoked/individual_revoked.p12", nonce)).decode()
    status, body = await api(tyndau.url, "POST", "/api/auth/eds", json={"cms": cms})
    assert (status, body["error"]["code"]) == (400, "certificate_revoked")
