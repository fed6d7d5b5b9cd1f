//! The request log: every authenticated SCIM request, recorded off the request path.
//!
//! A request notes what it learns as it goes (workspace, token id, request body) in a
//! per-request slot ([`noting`]); when the response is ready, [`RequestLogger::record`]
//! pushes the raw pieces — reference-counted `Bytes`, no parsing, no copying — into a
//! bounded channel. If the channel or its byte budget is full the record is dropped and
//! counted (`scim_request_log_dropped_total`): the log never slows a request down or grows
//! memory without bound. A background task redacts and caps the bodies and sends them to
//! the directory in batches (`directory.v1.RequestLog/RecordRequests`).
//!
//! Redaction is JSON-aware: the value of every key that names a secret (`password`,
//! `secret`, `token`, `client_secret`, `authorization`, ...) is replaced by `***` at any
//! depth, and so is the `value` of a PATCH operation whose `path` names one
//! (`{"op":"replace","path":"password","value":"..."}`). A body that is not JSON is not
//! recorded at all (it could hold a secret we cannot find). The Authorization header and
//! the token are never recorded: only the token's id.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use directory_proto::v1 as pb;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::directory::RequestLogClient;

pub const REDACTED: &str = "***";
/// Bodies larger than this are recorded by size only.
const MAX_KEPT_BODY: usize = 1024 * 1024;

/// How the log behaves.
#[derive(Clone, Copy, Debug)]
pub struct RequestLogSettings {
    /// Records waiting to be sent, at most.
    pub capacity: usize,
    /// Bytes of bodies waiting to be sent, at most.
    pub max_queued_bytes: usize,
    /// The most bytes of each (redacted) body kept.
    pub max_body_bytes: usize,
    /// The longest a record waits before its batch is sent.
    pub flush_interval: Duration,
    /// Records per `RecordRequests`.
    pub batch: usize,
    /// Body bytes per `RecordRequests` (as capped by `max_body_bytes`): a batch of list
    /// pages would otherwise be 500 × 2 × 16 KiB, held several times over by the
    /// directory while it decodes and inserts it.
    pub max_batch_bytes: usize,
}

impl Default for RequestLogSettings {
    fn default() -> Self {
        RequestLogSettings {
            capacity: 4096,
            max_queued_bytes: 32 * 1024 * 1024,
            max_body_bytes: 16 * 1024,
            flush_interval: Duration::from_secs(1),
            batch: 500,
            max_batch_bytes: 1024 * 1024,
        }
    }
}

/// What a request learned while it was served.
#[derive(Clone, Debug, Default)]
pub struct Note {
    pub workspace_id: Option<String>,
    pub token_id: Option<String>,
    pub request_body: Option<Bytes>,
}

tokio::task_local! {
    static NOTE: Arc<Mutex<Note>>;
}

/// Runs one request with `note` as its slot.
pub async fn noting<F: std::future::Future>(note: Arc<Mutex<Note>>, request: F) -> F::Output {
    NOTE.scope(note, request).await
}

fn with_note(f: impl FnOnce(&mut Note)) {
    let _ = NOTE.try_with(|note| {
        if let Ok(mut note) = note.lock() {
            f(&mut note);
        }
    });
}

pub fn note_workspace(workspace_id: &str) {
    with_note(|n| n.workspace_id = Some(workspace_id.to_owned()));
}

pub fn note_token_id(token_id: &str) {
    with_note(|n| n.token_id = Some(token_id.to_owned()));
}

pub fn note_request_body(body: &Bytes) {
    with_note(|n| n.request_body = Some(body.clone()));
}

/// One served request, as pushed (raw; redacted later, off the request path).
#[derive(Clone, Debug)]
pub struct Served {
    pub id: uuid::Uuid,
    pub received_at: SystemTime,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub scim_type: String,
    pub latency: Duration,
    pub trace_id: String,
    pub request_id: String,
    pub note: Note,
    pub response_body: Option<Bytes>,
}

impl Served {
    fn body_bytes(&self) -> usize {
        self.note.request_body.as_ref().map_or(0, Bytes::len)
            + self.response_body.as_ref().map_or(0, Bytes::len)
    }

    /// The body bytes its record carries, each body capped at `max_body_bytes`.
    fn shipped_bytes(&self, max_body_bytes: usize) -> usize {
        let capped = |body: Option<&Bytes>| body.map_or(0, |b| b.len().min(max_body_bytes));
        capped(self.note.request_body.as_ref()) + capped(self.response_body.as_ref())
    }
}

/// The sending side, shared by every request.
pub struct RequestLogger {
    sender: Option<mpsc::Sender<Served>>,
    queued_bytes: Arc<AtomicUsize>,
    max_queued_bytes: usize,
    dropped: AtomicU64,
}

impl RequestLogger {
    /// Records nothing.
    pub fn disabled() -> Self {
        RequestLogger {
            sender: None,
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            max_queued_bytes: 0,
            dropped: AtomicU64::new(0),
        }
    }

    /// The logger and the receiving end (what [`start`](Self::start) hands its task).
    pub fn channel(settings: RequestLogSettings) -> (Self, Queue) {
        let (sender, receiver) = mpsc::channel(settings.capacity.max(1));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        (
            RequestLogger {
                sender: Some(sender),
                queued_bytes: queued_bytes.clone(),
                max_queued_bytes: settings.max_queued_bytes,
                dropped: AtomicU64::new(0),
            },
            Queue {
                receiver,
                queued_bytes,
            },
        )
    }

    /// The logger and its sender task (needs a tokio runtime).
    pub fn start(client: RequestLogClient, settings: RequestLogSettings) -> Self {
        let (logger, queue) = Self::channel(settings);
        tokio::spawn(ship(queue, client, settings));
        logger
    }

    /// Pushes a served request; never waits. Requests without a workspace (not
    /// authenticated) are not recorded.
    pub fn record(&self, served: Served) {
        let Some(sender) = &self.sender else {
            return;
        };
        if served.note.workspace_id.is_none() {
            return;
        }
        let mut served = served;
        // A huge body (a large group's GET) is not worth queueing to keep 16 KiB of it.
        for body in [&mut served.note.request_body, &mut served.response_body] {
            if let Some(len) = body.as_ref().map(Bytes::len).filter(|l| *l > MAX_KEPT_BODY) {
                *body = Some(Bytes::from(format!(
                    "\"({len} bytes: too large to record)\""
                )));
            }
        }
        let bytes = served.body_bytes();
        let queued = self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        if queued + bytes > self.max_queued_bytes || sender.try_send(served).is_err() {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("scim_request_log_dropped_total").increment(1);
        }
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The receiving end of the log.
pub struct Queue {
    receiver: mpsc::Receiver<Served>,
    queued_bytes: Arc<AtomicUsize>,
}

impl Queue {
    /// The next batch: waits for a first record, then takes what arrives within
    /// `flush_interval`, up to `batch` records or `max_batch_bytes`. `None` once every
    /// sender is gone.
    pub async fn next_batch(&mut self, settings: &RequestLogSettings) -> Option<Vec<Served>> {
        let first = self.receiver.recv().await?;
        let mut shipped = first.shipped_bytes(settings.max_body_bytes);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + settings.flush_interval;
        while batch.len() < settings.batch.max(1) && shipped < settings.max_batch_bytes {
            match tokio::time::timeout_at(deadline, self.receiver.recv()).await {
                Ok(Some(served)) => {
                    shipped += served.shipped_bytes(settings.max_body_bytes);
                    batch.push(served);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let bytes: usize = batch.iter().map(Served::body_bytes).sum();
        self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        Some(batch)
    }
}

async fn ship(mut queue: Queue, client: RequestLogClient, settings: RequestLogSettings) {
    while let Some(batch) = queue.next_batch(&settings).await {
        let records: Vec<pb::RequestRecord> = batch
            .into_iter()
            .map(|served| to_record(served, settings.max_body_bytes))
            .collect();
        let count = records.len() as u64;
        let sent = client
            .clone()
            .record_requests(pb::RecordRequestsRequest { records })
            .await;
        if let Err(status) = sent {
            metrics::counter!("scim_request_log_send_failures_total").increment(1);
            metrics::counter!("scim_request_log_lost_total").increment(count);
            tracing::warn!(code = ?status.code(), records = count, "request log batch not stored");
        }
    }
}

/// The record of a served request: bodies redacted and capped.
pub fn to_record(served: Served, max_body_bytes: usize) -> pb::RequestRecord {
    let (request_body, request_body_truncated) =
        shown_body(served.note.request_body.as_ref(), max_body_bytes);
    let (response_body, response_body_truncated) =
        shown_body(served.response_body.as_ref(), max_body_bytes);
    let since_epoch = served
        .received_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    pb::RequestRecord {
        id: served.id.to_string(),
        workspace_id: served.note.workspace_id.unwrap_or_default(),
        received_at: Some(prost_types::Timestamp {
            seconds: since_epoch.as_secs() as i64,
            nanos: since_epoch.subsec_nanos() as i32,
        }),
        method: served.method,
        path: served.path,
        query: redact_query(&served.query),
        status: u32::from(served.status),
        scim_type: served.scim_type,
        latency_micros: served.latency.as_micros() as u64,
        token_id: served.note.token_id.unwrap_or_default(),
        trace_id: served.trace_id,
        request_id: served.request_id,
        request_body,
        response_body,
        request_body_truncated,
        response_body_truncated,
    }
}

/// A body as recorded: redacted JSON text cut at `max` bytes (and whether it was cut).
fn shown_body(body: Option<&Bytes>, max: usize) -> (String, bool) {
    let Some(body) = body.filter(|b| !b.is_empty()) else {
        return (String::new(), false);
    };
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return (
            format!("(not JSON, {} bytes: not recorded)", body.len()),
            false,
        );
    };
    redact(&mut json);
    let mut text = json.to_string();
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

/// The query string with the value of every secret-named parameter replaced
/// (`?access_token=...` is not SCIM, but a client may send it).
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => {
                let decoded: String = form_urlencoded::parse(name.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .collect();
                if names_secret(&decoded) {
                    format!("{name}={REDACTED}")
                } else {
                    pair.to_owned()
                }
            }
            None => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a key (or the last segment of a PATCH path) names a secret.
fn names_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // `urn:...:User:password`, `password`, `x.client_secret`, `emails[type eq "work"]`.
    let last = name
        .split('[')
        .next()
        .unwrap_or("")
        .rsplit([':', '.'])
        .next()
        .unwrap_or("");
    const SECRET_WORDS: [&str; 8] = [
        "password",
        "passwd",
        "secret",
        "token",
        "authorization",
        "credential",
        "apikey",
        "api_key",
    ];
    SECRET_WORDS.iter().any(|word| last.contains(word))
}

/// Replaces every secret value with `***`, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // A PATCH operation setting a secret by path.
            let secret_path = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                .and_then(|(_, v)| v.as_str())
                .is_some_and(names_secret);
            for (key, v) in map.iter_mut() {
                if names_secret(key) || (secret_path && key.eq_ignore_ascii_case("value")) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn served(workspace: Option<&str>, body: &'static [u8]) -> Served {
        Served {
            id: uuid::Uuid::now_v7(),
            received_at: SystemTime::now(),
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            query: String::new(),
            status: 201,
            scim_type: String::new(),
            latency: Duration::from_millis(3),
            trace_id: String::new(),
            request_id: "r1".into(),
            note: Note {
                workspace_id: workspace.map(str::to_owned),
                token_id: Some("tok-id".into()),
                request_body: Some(Bytes::from_static(body)),
            },
            response_body: None,
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let settings = RequestLogSettings {
            capacity: 2,
            ..Default::default()
        };
        let (logger, mut queue) = RequestLogger::channel(settings);
        for _ in 0..5 {
            logger.record(served(Some("ws"), b"{}"));
        }
        assert_eq!(logger.dropped(), 3);
        // Unauthenticated requests are neither queued nor dropped.
        logger.record(served(None, b"{}"));
        assert_eq!(logger.dropped(), 3);
        let batch = queue
            .next_batch(&RequestLogSettings {
                flush_interval: Duration::from_millis(10),
                ..settings
            })
            .await
            .unwrap();
        assert_eq!(batch.len(), 2);
        // Room again.
        logger.record(served(Some("ws"), b"{}"));
        assert_eq!(logger.dropped(), 3);
    }

    #[tokio::test]
    async fn a_batch_carries_at_most_max_batch_bytes_of_bodies() {
        let settings = RequestLogSettings {
            max_body_bytes: 4,
            max_batch_bytes: 10,
            flush_interval: Duration::from_millis(10),
            ..Default::default()
        };
        let (logger, mut queue) = RequestLogger::channel(settings);
        for _ in 0..5 {
            // 7 bytes each, 4 of them shipped.
            logger.record(served(Some("ws"), b"{\"a\":1}"));
        }
        let sizes = [
            queue.next_batch(&settings).await.unwrap().len(),
            queue.next_batch(&settings).await.unwrap().len(),
        ];
        assert_eq!(sizes, [3, 2], "12 shipped bytes reach the budget of 10");
    }

    #[tokio::test]
    async fn the_byte_budget_bounds_memory() {
        let settings = RequestLogSettings {
            capacity: 100,
            max_queued_bytes: 10,
            ..Default::default()
        };
        let (logger, mut queue) = RequestLogger::channel(settings);
        logger.record(served(Some("ws"), b"{\"a\":1}")); // 7 bytes
        logger.record(served(Some("ws"), b"{\"b\":2}")); // 14 > 10: dropped
        assert_eq!(logger.dropped(), 1);
        let quick = RequestLogSettings {
            flush_interval: Duration::from_millis(10),
            ..settings
        };
        assert_eq!(queue.next_batch(&quick).await.unwrap().len(), 1);
        logger.record(served(Some("ws"), b"{\"b\":2}"));
        assert_eq!(logger.dropped(), 1, "the budget is given back when sent");
    }

    #[test]
    fn secrets_are_redacted_at_any_depth_and_by_patch_path() {
        let mut body = json!({
            "userName": "ada",
            "password": "hunter2",
            "nested": { "client_secret": "s1", "list": [{ "apiToken": "t1" }] },
            "Operations": [
                { "op": "replace", "path": "password", "value": "p2" },
                { "op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "value": "p3" },
                { "op": "replace", "value": { "password": "p4", "title": "Lead" } },
                { "op": "replace", "path": "title", "value": "Boss" }
            ]
        });
        redact(&mut body);
        let text = body.to_string();
        for secret in ["hunter2", "s1", "t1", "p2", "p3", "p4"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(body["userName"], "ada");
        assert_eq!(body["Operations"][2]["value"]["title"], "Lead");
        assert_eq!(body["Operations"][3]["value"], "Boss");
    }

    #[test]
    fn secret_query_parameters_are_redacted() {
        assert_eq!(
            redact_query("filter=userName%20eq%20%22a%22&access_token=abc&count=5"),
            "filter=userName%20eq%20%22a%22&access_token=***&count=5"
        );
        assert_eq!(redact_query(""), "");
    }

    #[tokio::test]
    async fn huge_bodies_are_recorded_by_size_only() {
        let (logger, mut queue) = RequestLogger::channel(RequestLogSettings::default());
        let mut big = served(Some("ws"), b"{}");
        big.response_body = Some(Bytes::from(vec![b' '; MAX_KEPT_BODY + 1]));
        logger.record(big);
        let quick = RequestLogSettings {
            flush_interval: Duration::from_millis(10),
            ..Default::default()
        };
        let batch = queue.next_batch(&quick).await.unwrap();
        let record = to_record(batch.into_iter().next().unwrap(), 1024);
        assert_eq!(
            record.response_body,
            format!("\"({} bytes: too large to record)\"", MAX_KEPT_BODY + 1)
        );
    }

    #[test]
    fn bodies_are_capped_and_non_json_is_not_recorded() {
        let big = Bytes::from(serde_json::to_vec(&json!({ "x": "é".repeat(100) })).unwrap());
        let (text, cut) = shown_body(Some(&big), 21);
        assert!(cut && text.len() <= 21, "{text}");
        let (text, cut) = shown_body(Some(&Bytes::from_static(b"password=hunter2")), 100);
        assert!(!cut && !text.contains("hunter2"), "{text}");
        let record = to_record(served(Some("ws"), br#"{"password":"hunter2"}"#), 1024);
        assert_eq!(record.request_body, r#"{"password":"***"}"#);
        assert_eq!(record.token_id, "tok-id");
    }
}
