"""The caller's organization and its members: invitations and roles."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.fixtures import PASSWORD, Account, AuthActions


def test_owners_invite_members_who_can_sign_in(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/v1/organizations/members", json={"email": "new@example.org"}, headers=owner.headers
    )

    assert response.status_code == 201
    assert response.json["member"]["role"] == "member"
    password = response.json["temporary_password"]
    login = client.post(
        "/api/v1/auth/login", json={"email": "new@example.org", "password": password}
    )
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json['access_token']}"}
    )
    assert me.json["organization"]["id"] == owner.organization_id


def test_members_are_listed(client: FlaskClient, auth: AuthActions, owner: Account) -> None:
    member = auth.invite(owner)

    response = client.get("/api/v1/organizations/members", headers=member.headers)

    assert [person["email"] for person in response.json] == [owner.email, member.email]


def test_members_cannot_invite_remove_or_rename(
    client: FlaskClient, auth: AuthActions, owner: Account
) -> None:
    member = auth.invite(owner)

    invite = client.post(
        "/api/v1/organizations/members",
        json={"email": "x@example.org", "password": PASSWORD},
        headers=member.headers,
    )
    remove = client.delete(f"/api/v1/organizations/members/{owner.user_id}", headers=member.headers)
    rename = client.patch(
        "/api/v1/organizations/current", json={"name": "Mine"}, headers=member.headers
    )

    assert (invite.status_code, remove.status_code, rename.status_code) == (403, 403, 403)
    assert invite.json["code"] == "forbidden"


def test_owners_rename_the_organization(client: FlaskClient, owner: Account) -> None:
    response = client.patch(
        "/api/v1/organizations/current", json={"name": "Acme Ltd"}, headers=owner.headers
    )

    assert response.status_code == 200
    assert (
        client.get("/api/v1/organizations/current", headers=owner.headers).json["name"]
        == "Acme Ltd"
    )


def test_inviting_a_registered_email_is_a_conflict(
    client: FlaskClient, owner: Account, other_owner: Account
) -> None:
    response = client.post(
        "/api/v1/organizations/members", json={"email": other_owner.email}, headers=owner.headers
    )

    assert response.status_code == 409


def test_owners_cannot_remove_themselves(client: FlaskClient, owner: Account) -> None:
    response = client.delete(
        f"/api/v1/organizations/members/{owner.user_id}", headers=owner.headers
    )

    assert response.status_code == 409


def test_another_organizations_member_is_404(
    client: FlaskClient, owner: Account, other_owner: Account
) -> None:
    response = client.delete(
        f"/api/v1/organizations/members/{other_owner.user_id}", headers=owner.headers
    )

    assert response.status_code == 404
    listed = client.get("/api/v1/organizations/members", headers=owner.headers).json
    assert other_owner.email not in [person["email"] for person in listed]
