//! The webhook delivery worker: at least once, in sequence order per endpoint, with
//! backoff, every attempt recorded, and all state in the database (a crash loses nothing:
//! the endpoint's cursor only moves after a 2xx, and its lease expires).
//!
//! Each replica runs one worker. An endpoint is delivered by whoever holds its lease
//! (`store::webhooks::claim`), so replicas never deliver the same endpoint concurrently.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use crate::domain::webhooks::{backoff, exhausted, is_private, sign, wants};
use crate::ops::events::subscribe;
use crate::store::{self, Db, events::Event, events::EventFilter, webhooks::Endpoint};

#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Deliver to loopback/private/link-local addresses (local stacks and tests only).
    pub allow_private: bool,
    /// How long a claimed endpoint stays ours without renewal.
    pub lease: Duration,
    /// How often to look for work when nothing wakes the worker.
    pub poll: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The most of a receiver's response body we read (it is only kept in the error).
    pub max_response_bytes: usize,
    /// Events and attempts older than this are pruned.
    pub retention: chrono::Duration,
    /// Request log records older than this are pruned.
    pub request_log_retention: chrono::Duration,
    /// The first retry's wait; later ones double (tests shorten it).
    pub retry_base: Duration,
    /// The optional NATS JetStream sink (`--events-nats-url`).
    pub nats: Option<crate::nats_sink::NatsSinkConfig>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            allow_private: false,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_response_bytes: 64 * 1024,
            retention: chrono::Duration::days(30),
            request_log_retention: chrono::Duration::days(30),
            retry_base: crate::domain::webhooks::RETRY_BASE,
            nats: None,
        }
    }
}

/// Events delivered per claim before the endpoint is put back (fairness between endpoints).
const BATCH: u64 = 100;
/// Endpoints looked at per round.
const DUE_PER_ROUND: u64 = 32;
/// Rows pruned per batch (bounded, like every background delete).
const PRUNE_BATCH: u64 = 1000;

/// Resolves names and refuses private addresses unless allowed: checking the resolved
/// address (not the URL text) also stops DNS names that point inside.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

pub struct Worker {
    db: Db,
    config: DeliveryConfig,
    client: reqwest::Client,
    owner: String,
    busy: Mutex<HashSet<Uuid>>,
}

/// Starts the worker; it stops when `shutdown` flips to true.
pub fn spawn(
    db: Db,
    config: DeliveryConfig,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: config.allow_private,
        }))
        .user_agent(concat!(
            "scim-directory-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?;
    let worker = Arc::new(Worker {
        db,
        config,
        client,
        owner: Uuid::now_v7().to_string(),
        busy: Mutex::new(HashSet::new()),
    });
    Ok(tokio::spawn(worker.run(shutdown)))
}

impl Worker {
    async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut written = subscribe();
        let mut last_prune = Instant::now() - Duration::from_secs(3600);
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(err) = self.clone().round().await {
                tracing::warn!(error = %err, "webhook delivery round failed");
            }
            if last_prune.elapsed() >= Duration::from_secs(600) {
                last_prune = Instant::now();
                self.prune().await;
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = written.changed() => {
                    // The writer may not have committed yet: give it a moment.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    async fn prune(&self) {
        let requests_before = Utc::now() - self.config.request_log_retention;
        if let Err(err) =
            crate::ops::request_log::prune(&self.db, requests_before, PRUNE_BATCH, 100).await
        {
            tracing::warn!(error = %err, "pruning the request log failed");
        }
        let before = Utc::now() - self.config.retention;
        for _ in 0..100 {
            let events = store::events::prune(&self.db, before, PRUNE_BATCH).await;
            let attempts = store::webhooks::prune_attempts(&self.db, before, PRUNE_BATCH).await;
            match (events, attempts) {
                (Ok(0), Ok(0)) => return,
                (Ok(_), Ok(_)) => {}
                (Err(err), _) | (_, Err(err)) => {
                    tracing::warn!(error = %err, "pruning events failed");
                    return;
                }
            }
        }
    }

    /// Claims every due endpoint that is not already being delivered here.
    async fn round(self: Arc<Self>) -> Result<(), crate::domain::DomainError> {
        let now = Utc::now();
        let mut last_sequences = std::collections::HashMap::new();
        for endpoint in store::webhooks::due(&self.db, now, DUE_PER_ROUND).await? {
            // Claiming is a write: only for endpoints with something to deliver.
            let last = match last_sequences.get(&endpoint.workspace_id) {
                Some(last) => *last,
                None => {
                    let last =
                        store::events::last_sequence(&self.db, endpoint.workspace_id).await?;
                    last_sequences.insert(endpoint.workspace_id, last);
                    last
                }
            };
            if endpoint.cursor >= last {
                continue;
            }
            if !self.busy.lock().expect("busy set").insert(endpoint.id) {
                continue;
            }
            let until = now + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
            let claimed =
                store::webhooks::claim(&self.db, endpoint.id, &self.owner, now, until).await;
            if !matches!(claimed, Ok(true)) {
                self.busy.lock().expect("busy set").remove(&endpoint.id);
                continue;
            }
            let worker = self.clone();
            tokio::spawn(async move {
                let id = endpoint.id;
                if let Err(err) = worker.deliver(endpoint).await {
                    tracing::warn!(error = %err, endpoint = %id, "webhook delivery failed");
                }
                worker.busy.lock().expect("busy set").remove(&id);
            });
        }
        Ok(())
    }

    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.config.lease).unwrap_or_default()
    }

    /// Delivers the endpoint's pending events in order until one fails, the batch is done,
    /// or nothing is pending; then puts the lease back.
    async fn deliver(&self, endpoint: Endpoint) -> Result<(), crate::domain::DomainError> {
        let Some(mut endpoint) =
            store::webhooks::find_leased(&self.db, endpoint.id, &self.owner).await?
        else {
            return Ok(());
        };
        let types: Vec<String> =
            serde_json::from_value(endpoint.event_types.clone()).unwrap_or_default();
        let filter = EventFilter {
            after_sequence: endpoint.cursor,
            ..Default::default()
        };
        let events = store::events::list(&self.db, endpoint.workspace_id, &filter, BATCH).await?;
        for event in events {
            if !endpoint.enabled || endpoint.failed {
                break;
            }
            if !wants(&types, &event.event_type) {
                endpoint.cursor = event.sequence;
                continue;
            }
            endpoint.lease_until = Some(self.lease_until());
            if !store::webhooks::update_state(&self.db, &endpoint, &self.owner).await? {
                return Ok(()); // deleted, or the lease went elsewhere
            }
            let attempt = endpoint.attempts + 1;
            let outcome = self.send(&endpoint, &event).await;
            store::webhooks::insert_attempt(
                &self.db,
                store::webhooks::Attempt {
                    id: Uuid::now_v7(),
                    endpoint_id: endpoint.id,
                    event_id: event.id,
                    sequence: event.sequence,
                    event_type: event.event_type.clone(),
                    attempt,
                    status: outcome.status.map(i32::from),
                    latency_ms: outcome.latency.as_millis() as i64,
                    error: outcome.error.clone(),
                    attempted_at: Utc::now(),
                },
            )
            .await?;
            let now = Utc::now();
            if outcome.error.is_none() {
                endpoint.cursor = event.sequence;
                endpoint.attempts = 0;
                endpoint.failing_since = None;
                endpoint.last_error = None;
                endpoint.next_attempt_at = now;
            } else {
                let since = *endpoint.failing_since.get_or_insert(now);
                endpoint.attempts = attempt;
                endpoint.last_error = outcome.error;
                endpoint.next_attempt_at = now + backoff(attempt as u32, self.config.retry_base);
                if exhausted(since, now) {
                    endpoint.failed = true;
                    tracing::warn!(endpoint = %endpoint.id, "webhook endpoint failed: retries exhausted");
                }
                break;
            }
        }
        endpoint.lease_until = None;
        store::webhooks::update_state(&self.db, &endpoint, &self.owner).await?;
        Ok(())
    }

    async fn send(&self, endpoint: &Endpoint, event: &Event) -> Outcome {
        let started = Instant::now();
        let body = serde_json::to_vec(&webhook_body(event)).unwrap_or_default();
        let id = event.id.to_string();
        let timestamp = Utc::now().timestamp();
        let signature = match sign(&endpoint.secret, &id, timestamp, &body) {
            Ok(s) => s,
            Err(err) => return Outcome::failed(started, None, err.to_string()),
        };
        if !self.config.allow_private
            && let Some(ip) = literal_ip(&endpoint.url)
            && is_private(ip)
        {
            return Outcome::failed(started, None, "refused: private address".into());
        }
        let request = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(err) => return Outcome::failed(started, None, error_chain(&err)),
        };
        let status = response.status();
        // Read (a bounded part of) the body so the connection can be reused.
        let mut read = Vec::new();
        while read.len() < self.config.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                _ => break,
            }
        }
        read.truncate(self.config.max_response_bytes.min(512));
        if status.is_success() {
            Outcome {
                status: Some(status.as_u16()),
                latency: started.elapsed(),
                error: None,
            }
        } else {
            let text = String::from_utf8_lossy(&read);
            Outcome::failed(
                started,
                Some(status.as_u16()),
                format!("HTTP {}: {}", status.as_u16(), text.trim()),
            )
        }
    }
}

struct Outcome {
    status: Option<u16>,
    latency: Duration,
    error: Option<String>,
}

impl Outcome {
    fn failed(started: Instant, status: Option<u16>, error: String) -> Outcome {
        Outcome {
            status,
            latency: started.elapsed(),
            error: Some(error),
        }
    }
}

/// The host of a URL when it is an IP literal (those skip the resolver).
fn literal_ip(url: &str) -> Option<IpAddr> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri.host()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The JSON a webhook receives: the same shape as `ListEvents` shows.
pub fn webhook_body(event: &Event) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "type": event.event_type,
        "sequence": event.sequence,
        "occurred_at": event.occurred_at,
        "workspace_id": event.workspace_id,
        "actor": {
            "kind": event.actor_kind,
            "id": event.actor_id,
            "name": event.actor_name,
        },
        "data": event.data,
    })
}
