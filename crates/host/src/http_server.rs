//! The HTTP side of `posbridge serve`: `GET /metrics` for the host's
//! counters, merged with the HTTP API (which serves `GET /v1/health`, the
//! resources and `GET /v1/openapi.json`).

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::api::{self, ApiState};
use crate::metrics::Metrics;

/// `GET /metrics` (Prometheus text) plus every route of the HTTP API.
pub fn router(metrics: Arc<Metrics>, api_state: ApiState) -> Router {
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
        .merge(api::router(api_state))
}
