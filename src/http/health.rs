//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::keys::Alg;
use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database answers and every algorithm family has a current signing key.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.ping().await.is_ok();
    let keys = state
        .keys
        .snapshot()
        .is_some_and(|k| Alg::ALL.iter().all(|alg| k.current(*alg).is_some()));
    let body = json!({"database": database, "signing_keys": keys});
    if database && keys {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let now = state.now();
    let period = state.config.key_rotation_period;
    let lines = crate::keys::list(&state).await.unwrap_or_default();
    let gauges = lines
        .iter()
        .filter(|t| t.state == crate::keys::KeyState::Current)
        .map(|current| {
            let next = lines
                .iter()
                .filter(|t| t.alg == current.alg && t.state == crate::keys::KeyState::Next)
                .map(|t| t.activates_at)
                .min()
                .unwrap_or(current.activates_at + period);
            crate::metrics::KeyGauge {
                alg: current.alg.to_string(),
                kid: current.kid.clone(),
                age: now - current.activates_at,
                next_rotation_in: next - now,
            }
        })
        .collect::<Vec<_>>();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&gauges))
}
