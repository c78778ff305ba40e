//! The Postman collection in `examples/postman/`, run by newman (pinned in its package-lock)
//! against `tessera serve --demo` exactly as README says: discovery, JWKS, client
//! credentials, the code flow with PKCE through the HTML pages, userinfo, refresh rotation and
//! reuse, introspection, revocation and logout, each request with its tests.

use std::process::Command;

use crate::demo::start_demo;

#[actix_web::test]
async fn the_postman_collection_passes_under_newman_against_serve_demo() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/postman");
    if !std::path::Path::new(dir)
        .join("node_modules/.bin/newman")
        .exists()
    {
        assert!(
            std::env::var_os("TESSERA_REQUIRE_INTEROP").is_none(),
            "newman is required: run npm ci in examples/postman"
        );
        eprintln!("SKIPPED Postman collection: run npm ci in examples/postman");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (server, demo) = start_demo(data.path()).await;
    let secret = demo["client_secret"].as_str().unwrap();
    let password = demo["password"].as_str().unwrap();
    let run = Command::new("bash")
        .arg(format!("{dir}/run.sh"))
        .args([&server.base, secret, password])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "newman failed:\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(report.contains("assertions"), "{report}");
}
