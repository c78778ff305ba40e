//! The demo web app on its own: `cargo run -p rp-web`, configured by environment variables.
//! With Tessera's `--demo` client it needs only the secret Tessera printed:
//!
//! ```sh
//! RP_CLIENT_SECRET=… cargo run -p rp-web   # then open http://localhost:3000/
//! ```

use actix_web::{App, HttpServer, web};
use rp_web::{RelyingParty, Settings, routes};

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = setting("RP_BIND", "127.0.0.1:3000");
    let settings = Settings {
        issuer: setting("RP_ISSUER", "http://127.0.0.1:8080"),
        client_id: setting("RP_CLIENT_ID", "demo-app"),
        client_secret: std::env::var("RP_CLIENT_SECRET").ok(),
        base_url: setting("RP_BASE_URL", "http://localhost:3000"),
        scopes: setting("RP_SCOPES", "profile email")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    let rp = match RelyingParty::new(settings) {
        Ok(rp) => web::Data::new(rp),
        Err(e) => {
            eprintln!("rp-web: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "rp-web: open {}/ in a browser",
        setting("RP_BASE_URL", "http://localhost:3000")
    );
    HttpServer::new(move || App::new().configure(routes(rp.clone())))
        .bind(bind)?
        .run()
        .await
}
