//! The JSON Web Key Set (RFC 7517), served from the keyring's pre-serialised bytes.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::web::state::AppState;

pub async fn jwks(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let keys = state.keys.snapshot();
    let cache = format!("public, max-age={}", state.config.jwks_max_age);
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == keys.etag()));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, keys.etag().to_owned()))
        .insert_header((header::CACHE_CONTROL, cache));
    if unchanged {
        response.finish()
    } else {
        response
            .content_type("application/jwk-set+json")
            .body(keys.jwks())
    }
}
