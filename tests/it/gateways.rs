//! The gateway set-ups of `examples/gateways/`, run for real: nginx (Debian's, with its njs
//! module) in front of an API, with the committed `nginx.conf` and `introspect.js` and only
//! their documented placeholders replaced, asks Tessera's introspection about every request.
//! `.ci/run` installs nginx and requires this test; elsewhere it is skipped when nginx or
//! the module is missing. The Envoy configuration is checked against what Tessera serves.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use serde_json::{Value, json};
use tessera::core::model::GrantType;

use crate::helpers::process::free_port;
use crate::helpers::{spawn_app, str_of};

const NGINX: &str = "/usr/sbin/nginx";
const NJS_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_js_module.so";
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateways");

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The API behind the gateway: answers with what the gateway told it about the token.
async fn upstream() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = HttpServer::new(|| {
        App::new().default_service(web::to(|req: HttpRequest| async move {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            HttpResponse::Ok().json(json!({
                "path": req.path(),
                "sub": header("x-token-sub"),
                "scope": header("x-token-scope"),
            }))
        }))
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    address
}

#[actix_web::test]
async fn nginx_auth_request_lets_through_only_tokens_introspection_calls_active() {
    if !std::path::Path::new(NGINX).exists() || !std::path::Path::new(NJS_MODULE).exists() {
        assert!(
            std::env::var_os("TESSERA_REQUIRE_GATEWAYS").is_none(),
            "nginx is required (apt-get install nginx libnginx-mod-http-js)"
        );
        eprintln!("SKIPPED nginx gateway: apt-get install nginx libnginx-mod-http-js");
        return;
    }
    let tessera = spawn_app().await;
    let gateway = tessera
        .add_client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris = vec![];
            c.introspect_any = true;
        })
        .await;
    let api = upstream().await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", gateway.0, gateway.1));
    let conf = std::fs::read_to_string(format!("{EXAMPLES}/nginx/nginx.conf"))
        .unwrap()
        .replace("127.0.0.1:8080", tessera.base.trim_start_matches("http://"))
        .replace("127.0.0.1:4000", &api)
        .replace("127.0.0.1:8000", &format!("127.0.0.1:{port}"))
        .replace("GATEWAY_BASIC_CREDENTIALS", &credentials);
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    std::fs::copy(
        format!("{EXAMPLES}/nginx/introspect.js"),
        dir.path().join("introspect.js"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    let prefix = dir.path().display().to_string();
    let globals = format!("daemon off; master_process off; pid {prefix}/nginx.pid;");
    let _nginx = Nginx(
        Command::new(NGINX)
            .args([
                "-p",
                &prefix,
                "-c",
                &format!("{prefix}/nginx.conf"),
                "-g",
                &globals,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/")).send().await.is_ok() {
            up = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(dir.path().join("logs/error.log")).unwrap_or_default();
    assert!(up, "nginx did not start: {log}");
    let call = |token: Option<String>| {
        let mut request = http.get(format!("{base}/api/orders"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    let tokens = tessera.tokens(&tessera.browser).await;
    let access = str_of(&tokens, "access_token");
    let (status, seen) = call(Some(access.clone())).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["path"], "/api/orders");
    let claims = tessera.introspect(&access).await;
    assert_eq!(
        seen["sub"], claims["sub"],
        "the API learns whose token it was"
    );
    assert_eq!(seen["scope"], claims["scope"]);

    assert_eq!(call(None).await.0, 401);
    assert_eq!(call(Some("not-a-token".into())).await.0, 401);
    // Revoked at Tessera: refused at the gateway at once, long before the token expires.
    let revoked = tessera
        .post_as_client("/revoke", &[("token", &access)])
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(call(Some(access)).await.0, 401);
}

/// The values in the Envoy example are the ones Tessera serves: its issuer, its JWKS path,
/// and the algorithms its access tokens are signed with.
#[actix_web::test]
async fn the_envoy_example_names_what_tessera_serves() {
    let envoy = std::fs::read_to_string(format!("{EXAMPLES}/envoy/envoy.yaml")).unwrap();
    let tessera = spawn_app().await;
    let metadata: Value = tessera.get_json("/.well-known/openid-configuration").await;
    let jwks_path = url::Url::parse(metadata["jwks_uri"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    assert!(
        envoy.contains(&format!("uri: http://tessera:8080{jwks_path}")),
        "{envoy}"
    );
    assert!(envoy.contains("issuer: http://tessera:8080"));
    let response = tessera
        .rp_http
        .get(tessera.url(&jwks_path))
        .send()
        .await
        .unwrap();
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.contains("max-age=300"), "{cache}");
    assert!(envoy.contains("cache_duration: 300s"));
}
