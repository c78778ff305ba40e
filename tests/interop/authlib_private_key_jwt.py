"""private_key_jwt with Authlib (PyPI), as a Python service would use it against Tessera.

    python authlib_private_key_jwt.py keygen KEY.pem     # prints the public JWK Set
    python authlib_private_key_jwt.py run BASE CLIENT_ID KEY.pem

`run` gets a client_credentials token with Authlib's defaults (RS256 assertion, aud the
endpoint URL, a fresh jti each time), introspects and revokes it the same way, then presents
one assertion twice by hand; it prints one JSON line of what it saw. Run by
tests/it/client_libraries.rs.
"""

import json
import sys
import warnings

warnings.simplefilter("ignore")  # authlib.jose announces its successor on every import

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def keygen(pem_path):
    key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    with open(pem_path, "wb") as f:
        f.write(key.as_pem(is_private=True))
    public = key.as_dict(is_private=False, use="sig", alg="RS256")
    print(json.dumps({"keys": [public]}))


def run(base, client_id, pem_path):
    with open(pem_path, "rb") as f:
        pem = f.read()
    meta = requests.get(base + "/.well-known/openid-configuration", timeout=5).json()
    session = OAuth2Session(
        client_id,
        pem,
        token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"]),
        revocation_endpoint_auth_method=PrivateKeyJWT(),
    )
    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    introspect = OAuth2Session(client_id, pem, token_endpoint_auth_method=PrivateKeyJWT())
    active = introspect.introspect_token(
        meta["introspection_endpoint"], token=token["access_token"]
    ).json()
    revoked = session.revoke_token(meta["revocation_endpoint"], token=token["access_token"])
    after = introspect.introspect_token(
        meta["introspection_endpoint"], token=token["access_token"]
    ).json()
    # The same assertion presented twice: the second is a replay.
    assertion = private_key_jwt_sign(pem, client_id, meta["token_endpoint"])
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
    }
    first = requests.post(meta["token_endpoint"], data=form, timeout=5)
    replay = requests.post(meta["token_endpoint"], data=form, timeout=5)
    print(json.dumps({
        "token_type": token.get("token_type"),
        "access_token": token.get("access_token"),
        "introspected": active,
        "revoke_status": revoked.status_code,
        "after_revoke": after,
        "first_status": first.status_code,
        "replay_status": replay.status_code,
        "replay": replay.json(),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3], sys.argv[4])
