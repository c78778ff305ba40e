//! The API on its own: `RS_ISSUER=http://127.0.0.1:8080 RS_AUDIENCE=https://orders.example
//! cargo run -p resource-server`, then call it with an access token from Tessera.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use resource_server::{Verifier, routes};

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let issuer = setting("RS_ISSUER", "http://127.0.0.1:8080");
    let audience = setting("RS_AUDIENCE", "https://orders.example");
    let bind = setting("RS_BIND", "127.0.0.1:4000");
    // A token with an unknown key id makes the API fetch the JWKS again at most once a minute.
    let verifier = Verifier::new(&issuer, &audience, Duration::from_secs(60))
        .map_err(std::io::Error::other)?;
    let verifier = web::Data::new(verifier);
    println!(
        "resource-server: http://{bind}/api/orders accepts tokens from {issuer} for {audience}"
    );
    HttpServer::new(move || App::new().configure(routes(verifier.clone())))
        .bind(bind)?
        .run()
        .await
}
