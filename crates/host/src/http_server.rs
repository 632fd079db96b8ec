//! The HTTP side of `posbridge serve`: `GET /metrics` and `GET /v1/health`.
//! [`base_router`] is the router the HTTP API merges its routes into.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

/// What the base routes read.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// The host's counters.
    pub metrics: Arc<Metrics>,
    /// `sqlite` or `postgres`.
    pub storage: &'static str,
}

/// `GET /metrics` (Prometheus text) and `GET /v1/health`.
pub fn base_router(state: HttpState) -> Router {
    let metrics = Arc::clone(&state.metrics);
    let storage = state.storage;
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move {
                    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
                }
            }),
        )
        .route(
            "/v1/health",
            get(move || async move {
                axum::Json(serde_json::json!({ "status": "ok", "storage": storage }))
            }),
        )
}
