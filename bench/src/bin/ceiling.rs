//! The ceiling the benchmark compares against: a bare actix-web server that does only the
//! essential work of each scenario, with no routing table, middleware, storage or logging.
//!   GET  /static      a 1 KB JSON document (what discovery and the JWKS are)
//!   POST /sign/es256  one ES256 signature over a token-sized payload, as JSON
//!   POST /sign/rs256  the same with RS256 (RSA-2048)
//! Usage: ceiling PORT

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use rsa::pkcs8::EncodePrivateKey;

struct Keys {
    ec: EcdsaKeyPair,
    rsa: RsaKeyPair,
    rng: SystemRandom,
}

const PAYLOAD: &str = r#"{"iss":"http://127.0.0.1:8080","sub":"bench-cc","aud":"http://127.0.0.1:8080","exp":1893456000,"iat":1893455700,"jti":"r4nd0mjti00000000000000","client_id":"bench-cc","scope":"api:read"}"#;

fn document() -> String {
    let entries: Vec<String> = (0..12)
        .map(|i| format!(r#""entry_{i:02}":"{}""#, "v".repeat(60)))
        .collect();
    format!("{{{}}}", entries.join(","))
}

fn token(header: &str, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> HttpResponse {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(PAYLOAD)
    );
    let sig = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    let body =
        format!(r#"{{"access_token":"{input}.{sig}","token_type":"Bearer","expires_in":300}}"#);
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("cache-control", "no-store"))
        .body(body)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9000);
    let rng = SystemRandom::new();
    let ec_alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let ec_pkcs8 = EcdsaKeyPair::generate_pkcs8(ec_alg, &rng).expect("P-256 key");
    let ec = EcdsaKeyPair::from_pkcs8(ec_alg, ec_pkcs8.as_ref(), &rng).expect("P-256 key");
    let rsa_key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA key");
    let rsa_der = rsa_key.to_pkcs8_der().expect("RSA PKCS#8");
    let rsa = RsaKeyPair::from_pkcs8(rsa_der.as_bytes()).expect("RSA key");
    let keys = web::Data::new(Arc::new(Keys { ec, rsa, rng }));
    let doc = web::Bytes::from(document());
    HttpServer::new(move || {
        let doc = doc.clone();
        App::new()
            .app_data(keys.clone())
            .route(
                "/static",
                web::get().to(move || {
                    let doc = doc.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .insert_header(("cache-control", "public, max-age=300"))
                            .body(doc)
                    }
                }),
            )
            .route(
                "/sign/es256",
                web::post().to(|keys: web::Data<Arc<Keys>>| async move {
                    token(r#"{"alg":"ES256","typ":"at+jwt","kid":"k"}"#, |input| {
                        keys.ec
                            .sign(&keys.rng, input)
                            .expect("sign")
                            .as_ref()
                            .to_vec()
                    })
                }),
            )
            .route(
                "/sign/rs256",
                web::post().to(|keys: web::Data<Arc<Keys>>| async move {
                    token(r#"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#, |input| {
                        let mut sig = vec![0; keys.rsa.public().modulus_len()];
                        keys.rsa
                            .sign(&signature::RSA_PKCS1_SHA256, &keys.rng, input, &mut sig)
                            .expect("sign");
                        sig
                    })
                }),
            )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
