"""Login throttling behind a proxy: the client address from trusted proxies only, and a per-username
slow-down that cannot lock a real user out for long."""

import pytest
from django.test import Client, override_settings

from iom_portal import security

PASSWORD = "a-long-test-password-2026"
PROXY = "172.18.0.5"


def login(client: Client, username: str, password: str, *, forwarded: str | None = None, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post("/fr/accounts/login/", {"username": username, "password": password}, **extra)


class FakeRequest:
    def __init__(self, remote: str, forwarded: str | None = None):
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", PROXY),  # no trusted proxy: the header is the client's own word, ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # what the client wrote itself stays ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # fewer hops than proxies: the leftmost one
        (1, "not-an-address", PROXY),
        (1, None, PROXY),
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert security.client_ip(FakeRequest(PROXY, forwarded)) == expected


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_five_failures_of_one_client_do_not_lock_out_another_client(staff):
    attacker, user = Client(), Client()
    for _ in range(5):
        login(attacker, staff.username, "wrong-password", forwarded="198.51.100.7")
    assert login(attacker, staff.username, PASSWORD, forwarded="198.51.100.7").status_code == 429
    assert login(user, staff.username, PASSWORD, forwarded="203.0.113.20").status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_client_cannot_escape_its_lock_by_writing_its_own_forwarded_header(staff):
    attacker = Client()
    for i in range(5):
        login(attacker, staff.username, "wrong-password", forwarded=f"10.9.9.{i}, 198.51.100.7")
    assert login(attacker, staff.username, PASSWORD, forwarded="10.9.9.99, 198.51.100.7").status_code == 429


@override_settings(LOGIN_USERNAME_FREE_FAILURES=10, LOGIN_USERNAME_MAX_DELAY=60, TRUSTED_PROXY_COUNT=1)
def test_guesses_from_many_addresses_are_slowed_per_username(staff, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(security.time, "time", lambda: clock[0])
    statuses = []
    for i in range(80):  # 80 guesses from 20 addresses, one per second
        clock[0] += 1
        response = login(Client(), staff.username, f"guess-{i}", forwarded=f"198.51.100.{i % 20}")
        statuses.append(response.status_code)
    assert statuses[:10] == [200] * 10  # the first failures are free
    assert statuses.count(429) >= 60  # then most attempts wait: guessing slowed to a crawl
    slowed = login(Client(), staff.username, "guess", forwarded="198.51.100.250")
    assert slowed.status_code == 429 and int(slowed["Retry-After"]) <= 60
    assert "secondes" in slowed.content.decode()


@override_settings(LOGIN_USERNAME_FREE_FAILURES=3, LOGIN_USERNAME_MAX_DELAY=60, TRUSTED_PROXY_COUNT=1)
def test_the_slow_down_never_keeps_a_real_user_out_longer_than_the_maximum_delay(staff, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(security.time, "time", lambda: clock[0])
    for i in range(30):
        clock[0] += 61  # the attacker waits out every delay: the delay stops growing at the maximum
        login(Client(), staff.username, f"guess-{i}", forwarded=f"198.51.100.{i}")
    assert login(Client(), staff.username, PASSWORD, forwarded="203.0.113.20").status_code == 429
    clock[0] += 60
    assert login(Client(), staff.username, PASSWORD, forwarded="203.0.113.20").status_code == 302


@override_settings(LOGIN_USERNAME_FREE_FAILURES=3, LOGIN_USERNAME_MAX_DELAY=60, TRUSTED_PROXY_COUNT=1)
def test_a_browser_that_signed_in_before_is_not_slowed_by_someone_elses_guessing(staff, monkeypatch):
    now = security.time.time()
    monkeypatch.setattr(security.time, "time", lambda: now)  # the clock stands still: no delay runs out mid-test
    own_browser = Client()
    assert login(own_browser, staff.username, PASSWORD, forwarded="203.0.113.20").status_code == 302
    device = own_browser.cookies[security.DEVICE_COOKIE].value
    own_browser = Client()  # signed out, the device cookie kept
    own_browser.cookies[security.DEVICE_COOKIE] = device
    guesses = [
        login(Client(), staff.username, f"guess-{i}", forwarded=f"198.51.100.{i}").status_code for i in range(10)
    ]
    assert guesses[:3] == [200] * 3 and guesses[-1] == 429  # the free failures, then the slow-down
    assert login(Client(), staff.username, PASSWORD, forwarded="203.0.113.21").status_code == 429
    assert login(own_browser, staff.username, PASSWORD, forwarded="203.0.113.20").status_code == 302


def test_the_device_cookie_cannot_be_forged(staff, settings):
    settings.LOGIN_USERNAME_FREE_FAILURES = 0
    security.record_login_failure(None, staff.username)
    client = Client()
    client.cookies[security.DEVICE_COOKIE] = '["alice.staff"]'
    assert login(client, staff.username, PASSWORD, remote="203.0.113.20").status_code == 429


def test_the_api_throttle_counts_clients_behind_the_proxy_separately(settings):
    from rest_framework.settings import api_settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT
    assert api_settings.NUM_PROXIES == settings.TRUSTED_PROXY_COUNT


def test_an_unknown_client_address_is_none_for_axes_never_a_placeholder(settings):
    from django.http import HttpRequest

    settings.TRUSTED_PROXY_COUNT = 1
    assert security.axes_client_ip(HttpRequest()) is None  # force_login's bare request; inet column on PostgreSQL
    assert security.axes_client_ip(FakeRequest(PROXY, "203.0.113.9")) == "203.0.113.9"
