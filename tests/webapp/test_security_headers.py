"""Every response carries the security headers; the console and demo pages a strict CSP."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures import Account
from webapp.demo import seed_demo


def directives(response: TestResponse) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {name: value for name, value in pairs}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/auth/me"),  # 401 JSON
        ("post", "/api/v1/auth/login"),  # 422 JSON
        ("get", "/api/v1/no-such-thing"),  # 404 JSON
        ("get", "/api/openapi.json"),
        ("get", "/console/sign-in"),
        ("get", "/widget.js"),
    ],
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, method: str, path: str
) -> None:
    response = getattr(client, method)(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in {"strict-origin-when-cross-origin", "same-origin"}
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_api_responses_use_the_strict_origin_referrer_policy(client: FlaskClient) -> None:
    response = client.get("/api/v1/auth/me")

    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Content-Security-Policy" not in response.headers


def test_hsts_only_when_the_request_came_over_tls(client: FlaskClient) -> None:
    secure = client.get("/api/openapi.json", base_url="https://api.example.com")
    plain = client.get("/api/openapi.json", base_url="http://api.example.com")

    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in plain.headers


def test_the_widget_script_stays_embeddable_by_other_sites(client: FlaskClient) -> None:
    response = client.get("/widget.js", headers={"Origin": "https://shop.example.org"})

    assert response.status_code == 200
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Security-Policy" not in response.headers


@pytest.mark.parametrize("path", ["/console/sign-in", "/console/", "/console/documents"])
def test_console_pages_allow_only_their_own_scripts(app: Flask, owner: Account, path: str) -> None:
    from tests.webapp.console_helpers import sign_in

    browser = app.test_client()
    sign_in(browser, owner)
    response = browser.get(path, follow_redirects=True)
    policy = directives(response)

    assert response.status_code == 200
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script on the page"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler on the page"


def test_the_demo_page_may_load_the_widget_from_its_twin_origin(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        seed_demo("headers password")

    response = client.get("/demo", base_url="http://127.0.0.1:5000")
    policy = directives(response)

    assert response.status_code == 200
    assert policy["script-src"].split() == ["'self'", "http://localhost:5000"]
    assert "http://localhost:5000" in policy["connect-src"].split()
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_no_response_of_the_app_names_the_server(client: FlaskClient) -> None:
    responses = [client.get(path) for path in ("/api/openapi.json", "/api/v1/auth/me", "/nope")]

    assert all("Server" not in response.headers for response in responses)


def test_the_served_app_sends_no_server_banner(app: Flask) -> None:
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from webapp.security import BannerlessRequestHandler

    server = make_server("127.0.0.1", 0, app, request_handler=BannerlessRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/openapi.json"
        with urllib.request.urlopen(url, timeout=10) as response:
            headers = response.headers
            status = response.status
    finally:
        server.shutdown()
        thread.join(timeout=10)

    assert status == 200
    assert headers["Server"] is None
    assert headers["Date"] and headers["X-Content-Type-Options"] == "nosniff"
