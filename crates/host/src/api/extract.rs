//! Extractors that turn every malformed request into a problem document:
//! POST bodies with idempotency ([`PostRequest`]), query strings
//! ([`ApiQuery`]) and path parameters ([`ApiPath`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use store::api::{ApiChange, ApiOutcome, ApiWrite, AuditEntry, IdempotencyRecord};

use super::{Action, ApiError, ApiState, Caller, FieldError, REQUEST_BODY_BYTES_MAX, authorize};

/// Longest accepted `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 255;

/// A POST request: its raw body, path and `Idempotency-Key`, not yet parsed.
#[derive(Debug)]
pub struct PostRequest {
    path: String,
    content_type: Option<String>,
    idempotency_key: Option<String>,
    body: Bytes,
}

/// A POST that passed authorization and idempotency checks: commit it with
/// [`PendingWrite::commit`].
#[derive(Debug)]
pub struct PendingWrite {
    caller: Caller,
    idempotency_key: Option<String>,
    fingerprint: [u8; 32],
}

impl FromRequest<ApiState> for PostRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, ApiError> {
        let path = request.uri().path().to_owned();
        let headers = request.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let idempotency_key = idempotency_key(&headers)?;
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                    _ => ApiError::BadRequest("the body could not be read".to_owned()),
                })?;
        if body.len() > REQUEST_BODY_BYTES_MAX {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(Self {
            path,
            content_type,
            idempotency_key,
            body,
        })
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_BYTES_MAX)
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                format!("1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"),
            )
        })?;
    Ok(Some(key.to_owned()))
}

impl PostRequest {
    /// Authorizes `action`, replays the stored response of a repeated
    /// idempotency key, and parses the body as `T`.
    ///
    /// # Errors
    /// 403, the replay ([`ApiError::Replay`]), 422 for a reused key with a
    /// different body, 415/400/422 for a body that is not valid `T`.
    pub async fn begin<T: DeserializeOwned>(
        self,
        state: &ApiState,
        caller: Caller,
        action: Action,
    ) -> Result<(T, PendingWrite), ApiError> {
        authorize(&caller, action)?;
        let fingerprint = fingerprint(&state.config().key_pepper, &self.path, &self.body);
        if let Some(key) = &self.idempotency_key {
            replay(state, &caller, key, &fingerprint).await?;
        }
        let body = parse_json(self.content_type.as_deref(), &self.body)?;
        Ok((
            body,
            PendingWrite {
                caller,
                idempotency_key: self.idempotency_key,
                fingerprint,
            },
        ))
    }
}

/// The request's fingerprint, kept with its idempotency record: SHA-256
/// keyed with the server's secret pepper (a fixed-length secret prefix), as
/// some bodies carry a PAN, a PIN or a wallet payment code and an unkeyed
/// hash of them could be searched by brute force.
fn fingerprint(pepper: &[u8], path: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"posbridge idempotency fingerprint\0");
    hasher.update((pepper.len() as u64).to_be_bytes());
    hasher.update(pepper);
    hasher.update(b"POST ");
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

/// Fails with the stored response when `key` was used before.
async fn replay(
    state: &ApiState,
    caller: &Caller,
    key: &str,
    fingerprint: &[u8; 32],
) -> Result<(), ApiError> {
    let key_id = caller.key_id.clone();
    let key = key.to_owned();
    let record = state
        .read(move |store| store.idempotency_record(&key_id, &key))
        .await?;
    match record {
        None => Ok(()),
        Some(record) if record.fingerprint == *fingerprint => Err(ApiError::Replay {
            status: record.status,
            body: record.body,
        }),
        Some(_) => Err(ApiError::IdempotencyMismatch),
    }
}

/// Parses a JSON body, mapping every failure to a problem document.
pub(crate) fn parse_json<T: DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, ApiError> {
    let is_json = content_type.is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json")
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!("the body is not valid JSON: {inner}"));
        }
        let field = if path == "." { String::new() } else { path };
        ApiError::Validation(vec![FieldError::new(
            field,
            strip_position(&inner.to_string()),
        )])
    })
}

/// serde_json appends " at line L column C"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

impl PendingWrite {
    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// An audit entry by this caller.
    pub fn audit(
        &self,
        state: &ApiState,
        action: &str,
        resource: &str,
        details: &serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            time_ns: state.now_ns(),
            actor_role: self.caller.role.as_str().to_owned(),
            actor_scope: self.caller.scope.clone(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            details: details.to_string(),
        }
    }

    /// Commits `change` with `audit` and the idempotency record in one
    /// transaction and answers `answer`.
    ///
    /// # Errors
    /// 409 when the resource exists; the stored replay when a concurrent
    /// repeat won; 500 for storage failures.
    pub async fn commit(
        self,
        state: &ApiState,
        change: ApiChange,
        audit: AuditEntry,
        answer: Answer<'_>,
    ) -> Result<Response, ApiError> {
        // One ApiWrite: the idempotency key is claimed before the change is
        // made, so a concurrent repeat can never apply the change twice.
        let (text, idempotency) = self.record(state, &answer);
        let write = ApiWrite {
            change,
            audit: Some(audit),
            idempotency,
            only_after_success: false,
        };
        let outcomes = state
            .write(vec![store::WriteOp::Api(Box::new(write))])
            .await?;
        match outcomes.first() {
            Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. })) => {
                Ok(json_response(answer.status, text))
            }
            Some(store::WriteOutcome::Api(ApiOutcome::Exists)) => Err(ApiError::Conflict(
                "a resource with this code exists already".to_owned(),
            )),
            Some(store::WriteOutcome::Api(ApiOutcome::Conflict)) => Err(ApiError::Conflict(
                "the resource was changed by another request; read it again and retry".to_owned(),
            )),
            Some(store::WriteOutcome::Api(ApiOutcome::IdempotencyTaken)) => {
                self.replay_lost_race(state).await?;
                Err(ApiError::internal("idempotency record vanished"))
            }
            other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
        }
    }

    /// The response text and the idempotency record of `answer`.
    fn record(&self, state: &ApiState, answer: &Answer<'_>) -> (String, Option<IdempotencyRecord>) {
        let text = answer.body.to_string();
        let idempotency = self.idempotency_key.clone().map(|key| IdempotencyRecord {
            key_id: self.caller.key_id.clone(),
            idempotency_key: key,
            fingerprint: self.fingerprint,
            status: answer.status.as_u16(),
            body: answer
                .stored_body
                .map_or_else(|| text.clone(), ToString::to_string),
            created_at_ns: state.now_ns(),
        });
        (text, idempotency)
    }

    /// The ONE `WriteOp::Api` of this request (its change, audit event and
    /// idempotency record) for an endpoint that submits it together with
    /// other operations itself (see `crate::admin`), and the response text;
    /// then [`PendingWrite::finish`] with the op's outcome.
    pub(crate) fn write_op(
        &self,
        state: &ApiState,
        change: ApiChange,
        audit: AuditEntry,
        answer: &Answer<'_>,
    ) -> (store::WriteOp, String) {
        let (text, idempotency) = self.record(state, answer);
        let write = ApiWrite {
            change,
            audit: Some(audit),
            idempotency,
            only_after_success: false,
        };
        (store::WriteOp::Api(Box::new(write)), text)
    }

    /// Fails with the stored response when a repeat of this request was
    /// committed since [`PostRequest::begin`] (checked again under a lock
    /// that serializes the endpoint's writes).
    ///
    /// # Errors
    /// The replay, or 422 when the key was used with another request.
    pub(crate) async fn recheck(&self, state: &ApiState) -> Result<(), ApiError> {
        self.replay_lost_race(state).await
    }

    /// Answers a request written with [`PendingWrite::write_op`] by the
    /// outcome of its op, as [`PendingWrite::commit`] does.
    ///
    /// # Errors
    /// As [`PendingWrite::commit`].
    pub(crate) async fn finish(
        self,
        state: &ApiState,
        outcome: Option<&store::WriteOutcome>,
        status: StatusCode,
        text: String,
    ) -> Result<Response, ApiError> {
        match outcome {
            Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. })) => {
                Ok(json_response(status, text))
            }
            Some(store::WriteOutcome::Api(ApiOutcome::Exists)) => Err(ApiError::Conflict(
                "a resource with this id exists already".to_owned(),
            )),
            Some(store::WriteOutcome::Api(ApiOutcome::Conflict)) => Err(ApiError::Conflict(
                "the resource was changed by another request; read it again and retry".to_owned(),
            )),
            Some(store::WriteOutcome::Api(ApiOutcome::IdempotencyTaken)) => {
                self.replay_lost_race(state).await?;
                Err(ApiError::internal("idempotency record vanished"))
            }
            other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
        }
    }

    /// Fails with the stored response when a repeat of this request won.
    async fn replay_lost_race(&self, state: &ApiState) -> Result<(), ApiError> {
        match &self.idempotency_key {
            Some(key) => replay(state, &self.caller, key, &self.fingerprint).await,
            None => Ok(()),
        }
    }

    /// Commits the endpoint's own `ops`, then — only if every one of them
    /// fully succeeded — `audit` and the idempotency record, all in ONE
    /// transaction. The endpoint maps [`Committed::NotApplied`] outcomes to
    /// its errors. The ops must be refused by the store when repeated
    /// (unique codes, transfer ids), so a concurrent repeat cannot apply
    /// twice; it is answered with the winner's stored response.
    ///
    /// # Errors
    /// The stored replay when a concurrent repeat won; 500 for storage
    /// failures.
    pub async fn commit_with(
        self,
        state: &ApiState,
        mut ops: Vec<store::WriteOp>,
        audit: AuditEntry,
        answer: Answer<'_>,
    ) -> Result<Committed, ApiError> {
        let (text, idempotency) = self.record(state, &answer);
        ops.push(store::WriteOp::Api(Box::new(ApiWrite {
            change: ApiChange::None,
            audit: Some(audit),
            idempotency,
            only_after_success: true,
        })));
        let mut outcomes = state.write(ops).await?;
        let last = outcomes.pop();
        if let Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. })) = last {
            return Ok(Committed::Applied(
                json_response(answer.status, text),
                outcomes,
            ));
        }
        // Lost a race to a repeat of this request: answer as it did.
        self.replay_lost_race(state).await?;
        match last {
            Some(store::WriteOutcome::Api(ApiOutcome::Skipped)) => {
                Ok(Committed::NotApplied(outcomes))
            }
            other => Err(ApiError::Internal(format!("unexpected outcome {other:?}"))),
        }
    }
}

fn json_response(status: StatusCode, text: String) -> Response {
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The response a write gives when it applies.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// Its status.
    pub status: StatusCode,
    /// Its JSON body.
    pub body: &'a serde_json::Value,
    /// What a repeat of the request replays instead of `body` (e.g. without
    /// a secret shown once).
    pub stored_body: Option<&'a serde_json::Value>,
}

impl<'a> Answer<'a> {
    /// `201 Created` with `body`.
    pub fn created(body: &'a serde_json::Value) -> Self {
        Self {
            status: StatusCode::CREATED,
            body,
            stored_body: None,
        }
    }
}

/// The result of [`PendingWrite::commit_with`].
#[derive(Debug)]
pub enum Committed {
    /// Everything applied: the response, and the outcomes of the endpoint's
    /// own operations.
    Applied(Response, Vec<store::WriteOutcome>),
    /// An operation did not fully succeed: nothing of the audit and
    /// idempotency record was written; the endpoint's outcomes.
    NotApplied(Vec<store::WriteOutcome>),
}

/// A query string parsed as `T` (unknown or malformed parameters → 422).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<ApiState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::field("query", rejection.body_text()))
    }
}

/// Path parameters parsed as `T` (malformed → 422).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<ApiState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| ApiError::field("path", rejection.body_text()))
    }
}

/// The answer to any unknown path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// The answer to a known path with the wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
