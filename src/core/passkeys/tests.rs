//! The ceremonies with the WebAuthn crate's software authenticator as the user's device.

use serde_json::json;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use super::*;
use crate::core::testing::{MemoryStore, block_on, context, policy, user};

const NOW: i64 = 1_000_000;

fn origin() -> Url {
    Url::parse("https://id.example").unwrap()
}

fn answer(challenge: &Challenge, credential: &str) -> (String, String) {
    (challenge.ceremony.clone(), credential.to_owned())
}

fn given(pair: &(String, String)) -> Answer<'_> {
    Answer {
        ceremony: &pair.0,
        credential: &pair.1,
    }
}

/// The software authenticator makes a credential for the registration's options.
fn create(key: &mut SoftPasskey, challenge: &Challenge) -> String {
    let options: serde_json::Value = serde_json::from_str(&challenge.options).unwrap();
    let request: CreationChallengeResponse =
        serde_json::from_value(json!({ "publicKey": options })).unwrap();
    serde_json::to_string(&key.do_registration(origin(), request).unwrap()).unwrap()
}

/// The software authenticator answers a request. It keeps no discoverable credentials, so
/// for a request naming none the test does what a platform authenticator does: picks the
/// passkey (`resident`) and returns its user handle with the signature.
fn get(key: &mut SoftPasskey, challenge: &Challenge, resident: Option<&PasskeyFactor>) -> String {
    let mut options: serde_json::Value = serde_json::from_str(&challenge.options).unwrap();
    if let Some(p) = resident {
        options["allowCredentials"] = json!([{"type": "public-key", "id": p.credential_id}]);
    }
    let request: RequestChallengeResponse =
        serde_json::from_value(json!({ "publicKey": options })).unwrap();
    let mut credential = key.do_authentication(origin(), request).unwrap();
    if let Some(p) = resident {
        credential.response.user_handle = Some(user_handle(&p.user_id).as_bytes().to_vec());
    }
    serde_json::to_string(&credential).unwrap()
}

fn registered(store: &MemoryStore, key: &mut SoftPasskey, who: &User) -> PasskeyFactor {
    let policy = policy();
    let cx = context(store, &policy, NOW);
    let challenge = block_on(begin_registration(&cx, who)).unwrap().unwrap();
    let pair = answer(&challenge, &create(key, &challenge));
    block_on(finish_registration(
        &cx,
        who,
        given(&pair),
        "  Work\u{7} laptop ",
    ))
    .unwrap()
    .unwrap()
}

/// Alice, a user of the store, and the device with the passkey she registered.
fn alice_with_a_passkey() -> (MemoryStore, User, SoftPasskey, PasskeyFactor) {
    let store = MemoryStore::default();
    let alice = user("alice");
    block_on(store.insert_user(&alice)).unwrap();
    let mut key = SoftPasskey::new(true);
    let passkey = registered(&store, &mut key, &alice);
    (store, alice, key, passkey)
}

#[test]
fn a_registered_passkey_signs_in_alone_once_per_request() {
    let (store, alice, mut key, passkey) = alice_with_a_passkey();
    let policy = policy();
    assert_eq!(passkey.name, "Work laptop");
    assert!(
        !passkey.backup_eligible,
        "the software key is bound to its device"
    );

    let cx = context(&store, &policy, NOW + 10);
    let challenge = begin_sign_in(&cx).unwrap().unwrap();
    let options: serde_json::Value = serde_json::from_str(&challenge.options).unwrap();
    assert_eq!(options["rpId"], "id.example");
    assert_eq!(options["userVerification"], "required");
    let pair = answer(&challenge, &get(&mut key, &challenge, Some(&passkey)));
    let verified = block_on(finish_sign_in(&cx, given(&pair)))
        .unwrap()
        .unwrap();
    assert_eq!(verified.user.id, alice.id);
    assert_eq!(verified.amr, "hwk user mfa");
    assert_eq!(
        block_on(finish_sign_in(&cx, given(&pair)))
            .unwrap()
            .unwrap_err(),
        Refusal::Stale,
        "an answer works once"
    );
    let used = block_on(store.passkeys(&alice.id)).unwrap();
    assert_eq!(used[0].last_used_at, Some(NOW + 10));
    assert_ne!(
        used[0].credential, passkey.credential,
        "the counter moved on"
    );
}

#[test]
fn a_counter_that_goes_back_and_a_stale_request_are_refused() {
    let (store, _, mut key, passkey) = alice_with_a_passkey();
    let policy = policy();
    let cx = context(&store, &policy, NOW);
    let first = begin_sign_in(&cx).unwrap().unwrap();
    let older = answer(&first, &get(&mut key, &first, Some(&passkey)));
    let second = begin_sign_in(&cx).unwrap().unwrap();
    let newer = answer(&second, &get(&mut key, &second, Some(&passkey)));
    assert!(
        block_on(finish_sign_in(&cx, given(&newer)))
            .unwrap()
            .is_ok()
    );
    assert_eq!(
        block_on(finish_sign_in(&cx, given(&older)))
            .unwrap()
            .unwrap_err(),
        Refusal::Failed,
        "a signature counter lower than the last one seen may be a cloned key"
    );
    let late = context(&store, &policy, NOW + CEREMONY_TTL);
    let third = begin_sign_in(&cx).unwrap().unwrap();
    let expired = answer(&third, &get(&mut key, &third, Some(&passkey)));
    assert_eq!(
        block_on(finish_sign_in(&late, given(&expired)))
            .unwrap()
            .unwrap_err(),
        Refusal::Stale
    );
}

#[test]
fn as_a_second_factor_only_the_users_own_passkey_counts() {
    let store = MemoryStore::default();
    let policy = policy();
    let (alice, bob) = (user("alice"), user("bob"));
    let mut alices_key = SoftPasskey::new(true);
    let mut bobs_key = SoftPasskey::new(true);
    registered(&store, &mut alices_key, &alice);
    registered(&store, &mut bobs_key, &bob);
    let cx = context(&store, &policy, NOW);
    assert!(
        block_on(begin_second_factor(&cx, "id-nobody"))
            .unwrap()
            .is_none()
    );
    let challenge = block_on(begin_second_factor(&cx, &alice.id))
        .unwrap()
        .unwrap();
    let as_bob = |pair: &(String, String)| {
        block_on(finish_second_factor(&cx, &bob.id, given(pair)))
            .unwrap()
            .unwrap_err()
    };
    let pair = answer(&challenge, &get(&mut alices_key, &challenge, None));
    assert_eq!(
        as_bob(&pair),
        Refusal::Stale,
        "alice's request is not bob's"
    );
    let bobs = block_on(begin_second_factor(&cx, &bob.id))
        .unwrap()
        .unwrap();
    let mut options: serde_json::Value = serde_json::from_str(&bobs.options).unwrap();
    options["allowCredentials"] = serde_json::from_str::<serde_json::Value>(&challenge.options)
        .unwrap()["allowCredentials"]
        .clone();
    let swapped = Challenge {
        options: options.to_string(),
        ceremony: bobs.ceremony.clone(),
    };
    let alice_for_bob = answer(&bobs, &get(&mut alices_key, &swapped, None));
    assert_eq!(
        as_bob(&alice_for_bob),
        Refusal::Unknown,
        "alice's passkey is no second factor for bob"
    );
    let fresh = block_on(begin_second_factor(&cx, &alice.id))
        .unwrap()
        .unwrap();
    let pair = answer(&fresh, &get(&mut alices_key, &fresh, None));
    assert_eq!(
        block_on(finish_second_factor(&cx, &alice.id, given(&pair))).unwrap(),
        Ok("pwd hwk user mfa")
    );
}

#[test]
fn the_relying_party_is_the_issuers_host() {
    let mut policy = policy();
    policy.issuer = "https://login.example.com/tenant".into();
    assert!(relying_party(&policy).is_some());
    for issuer in ["http://127.0.0.1:8080", "http://[::1]:8080"] {
        policy.issuer = issuer.into();
        assert!(relying_party(&policy).is_none(), "{issuer}");
        let store = MemoryStore::default();
        let cx = context(&store, &policy, NOW);
        assert_eq!(
            block_on(begin_registration(&cx, &user("alice")))
                .unwrap()
                .unwrap_err(),
            Refusal::Unavailable
        );
        assert!(begin_sign_in(&cx).unwrap().is_none());
    }
    assert_eq!(passkey_name("", 2), "Passkey 3");
    assert_eq!(passkey_name(&"x".repeat(100), 0).chars().count(), MAX_NAME);
    assert_eq!(amr(true, true), "pwd swk user mfa");
    assert_ne!(user_handle("a"), user_handle("b"));
}
