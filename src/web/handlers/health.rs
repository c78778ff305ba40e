//! Liveness, readiness and metrics for load balancers, orchestrators and Prometheus.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::core::rotation;
use crate::keys::{Alg, KeyState, Timeline, next_activation};
use crate::metrics::KeyGauge;
use crate::web::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database answers and every algorithm family has a current signing key.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.ping().await.is_ok();
    let keys = state.keys.snapshot();
    let keys = Alg::ALL.iter().all(|alg| keys.current(*alg).is_some());
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
    let gauges = match key_timelines(&state, now).await {
        Ok((lines, schedule)) => Alg::ALL
            .iter()
            .filter_map(|alg| {
                let family: Vec<&Timeline> = lines.iter().filter(|t| t.alg == *alg).collect();
                let current = family.iter().find(|t| t.state == KeyState::Current)?;
                Some(KeyGauge {
                    alg: alg.to_string(),
                    kid: current.kid.clone(),
                    age: now - current.activates_at,
                    next_rotation_in: next_activation(&family, &schedule)? - now,
                })
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics without key gauges");
            Vec::new()
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&gauges))
}

async fn key_timelines(
    state: &AppState,
    now: i64,
) -> Result<(Vec<Timeline>, crate::keys::Schedule), rotation::RotationError> {
    let schedule =
        rotation::schedule(&state.store, &state.policy, &state.config.rotation()).await?;
    Ok((state.key_ops().list(&schedule, now).await?, schedule))
}
