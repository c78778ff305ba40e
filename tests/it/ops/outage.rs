//! When the database goes away, endpoints answer 503 with the spec's error body, and the
//! provider recovers by itself when it comes back. A TCP proxy in front of PostgreSQL plays
//! the outage.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{Backend, browser, spawn_app_with, use_backend};

struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (up_flag, registry) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up_flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(link.abort_handle());
            }
        });
        Self { port, up, links }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[actix_web::test]
async fn database_outage_is_503_and_recovers_by_itself() {
    use_backend(Backend::Postgres);
    let admin_url = url::Url::parse(&crate::helpers::postgres_admin_url()).unwrap();
    let proxy = Proxy::start(admin_url.port().unwrap_or(5432)).await;
    let proxy_port = proxy.port;
    let app = spawn_app_with(move |config| {
        let mut url = url::Url::parse(&config.database_url).unwrap();
        url.set_port(Some(proxy_port)).unwrap();
        config.database_url = url.to_string();
        config.db_acquire_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let tokens = app.tokens(&browser()).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    proxy.down();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let refresh = || app.post_as_client("/token", &form);
    let response = refresh().await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let page = app
        .browser
        .get(app.authorize_url(&[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let userinfo = app
        .rp_http
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 503);
    assert_eq!(
        app.rp_http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    // What needs no database keeps working.
    assert_eq!(
        app.rp_http
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.rp_http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    proxy.restore();
    let mut recovered = None;
    for _ in 0..40 {
        let response = refresh().await;
        if response.status() == 200 {
            recovered = Some(response);
            break;
        }
        assert_eq!(response.status(), 503, "only 503 while recovering");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let body: serde_json::Value = recovered
        .expect("recovered without a restart")
        .json()
        .await
        .unwrap();
    assert!(
        body["refresh_token"].is_string(),
        "the grant made before the outage survived it"
    );
    assert_eq!(
        app.rp_http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
