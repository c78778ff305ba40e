//! Delivery of back-channel logout tokens over HTTP (the core's `Notifier` port): one POST per
//! client, no redirects followed, a short timeout. A server delivers in the background so no
//! request waits on a client; a CLI command waits, because it is about to exit.

use std::time::Duration;

use crate::core::ports::{LogoutNotice, Notifier};

#[derive(Clone)]
pub struct Backchannel {
    http: reqwest::Client,
    wait: bool,
}

impl Backchannel {
    /// Delivers in the background (for the server).
    pub fn background() -> Result<Self, reqwest::Error> {
        Self::new(false)
    }

    /// Delivers before returning (for the CLI).
    pub fn waiting() -> Result<Self, reqwest::Error> {
        Self::new(true)
    }

    fn new(wait: bool) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self { http, wait })
    }
}

impl Notifier for Backchannel {
    async fn notify(&self, notices: Vec<LogoutNotice>) {
        let send = deliver(self.http.clone(), notices);
        if self.wait {
            send.await;
        } else {
            tokio::spawn(send);
        }
    }
}

async fn deliver(http: reqwest::Client, notices: Vec<LogoutNotice>) {
    for LogoutNotice { uri, logout_token } in notices {
        let result = http
            .post(&uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("logout_token={logout_token}"))
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {
                tracing::info!(%uri, "back-channel logout delivered")
            }
            Ok(r) => {
                tracing::warn!(%uri, status = r.status().as_u16(), "back-channel logout refused")
            }
            Err(e) => tracing::warn!(%uri, error = %e, "back-channel logout failed"),
        }
    }
}
