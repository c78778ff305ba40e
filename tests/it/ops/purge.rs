//! Expired rows are purged; nothing live goes with them.

use tessera::core::ports::RefreshTokenRepo;

use crate::helpers::{browser, json, spawn_app};

on_both_backends! {
async fn expired_rows_are_purged_and_live_ones_kept() {
    let app = spawn_app().await;
    let old = app.tokens(&browser()).await;
    app.advance(15 * 86_400); // past the 14-day idle lifetime of `old`'s refresh token
    let fresh = app.tokens(&browser()).await;
    let removed = app.state.store.purge_expired(app.state.now()).await.unwrap();
    assert!(removed >= 3, "expired interactions, codes and the old refresh token: {removed}");
    let old_hash = tessera::secret::hash(old["refresh_token"].as_str().unwrap());
    assert!(app.state.store.find_refresh_token(&old_hash).await.unwrap().is_none());
    let (status, _) = json(app.refresh(fresh["refresh_token"].as_str().unwrap(), &[]).await).await;
    assert_eq!(status, 200, "live grants are untouched");
}
}
