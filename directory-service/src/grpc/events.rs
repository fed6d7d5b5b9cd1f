//! The Events service (list, live stream, webhook endpoints) and the actor of each call.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use directory_proto::v1 as pb;
use directory_proto::v1::events_server::Events;
use directory_proto::{ACTOR_METADATA_KEY, ACTOR_TOKEN_METADATA_KEY};
use tokio_stream::Stream;
use tonic::codegen::Service;
use tonic::{Request, Response, Status};

use super::convert::{from_timestamp, parse_id, parse_resource_id, timestamp};
use super::status::to_status;
use crate::domain::events::Actor;
use crate::ops;
use crate::store::{self, Db, events::Event, events::EventFilter, webhooks::Endpoint};

pub struct EventsService {
    pub db: Db,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// How often a live stream looks for events written by other replicas.
const WATCH_POLL: Duration = Duration::from_millis(200);
/// How far back the revocation feed looks on every poll (and replays on connect).
const REVOCATION_LOOKBACK: chrono::Duration = chrono::Duration::seconds(10);
/// Events read per query while replaying.
const WATCH_BATCH: u64 = 500;

pub fn event(e: Event) -> pb::Event {
    pb::Event {
        id: e.id.to_string(),
        workspace_id: e.workspace_id.to_string(),
        sequence: e.sequence,
        r#type: e.event_type,
        occurred_at: Some(timestamp(e.occurred_at)),
        actor: Some(pb::Actor {
            kind: e.actor_kind,
            id: e.actor_id,
            name: e.actor_name,
        }),
        resource_type: e.resource_type,
        resource_id: e.resource_id,
        data_json: e.data.to_string(),
        changes_json: e.changes.map(|c| c.to_string()).unwrap_or_default(),
    }
}

fn webhook(w: &Endpoint) -> pb::Webhook {
    pb::Webhook {
        id: w.id.to_string(),
        workspace_id: w.workspace_id.to_string(),
        url: w.url.clone(),
        event_types: serde_json::from_value(w.event_types.clone()).unwrap_or_default(),
        enabled: w.enabled,
        created: Some(timestamp(w.created_at)),
        cursor: w.cursor,
        attempts: w.attempts,
        next_attempt_at: Some(timestamp(w.next_attempt_at)),
        failed: w.failed,
        last_error: w.last_error.clone().unwrap_or_default(),
    }
}

type RpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Events for EventsService {
    async fn list_events(
        &self,
        req: Request<pb::ListEventsRequest>,
    ) -> RpcResult<pb::ListEventsResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let filter = EventFilter {
            after_sequence: req.after_sequence.max(0),
            since: req.since.as_ref().map(from_timestamp).transpose()?,
            actor_id: Some(req.actor_id).filter(|a| !a.is_empty()),
            resource_id: Some(req.resource_id).filter(|r| !r.is_empty()),
            event_types: req.types,
        };
        let limit = u64::try_from(req.limit).ok();
        let events = ops::events::list_events(&self.db, workspace_id, &filter, limit)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListEventsResponse {
            events: events.into_iter().map(event).collect(),
        }))
    }

    type WatchEventsStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

    async fn watch_events(
        &self,
        req: Request<pb::WatchEventsRequest>,
    ) -> RpcResult<Self::WatchEventsStream> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        store::workspaces::find_by_id(&self.db, workspace_id)
            .await
            .map_err(to_status)?;
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let db = self.db.clone();
        let mut shutdown = self.shutdown.clone();
        let mut cursor = req.after_sequence.max(0);
        tokio::spawn(async move {
            let mut written = ops::events::subscribe();
            loop {
                let filter = EventFilter {
                    after_sequence: cursor,
                    ..Default::default()
                };
                let batch = match store::events::list(&db, workspace_id, &filter, WATCH_BATCH).await
                {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = tx.send(Err(to_status(err))).await;
                        return;
                    }
                };
                let full = batch.len() as u64 == WATCH_BATCH;
                for e in batch {
                    cursor = e.sequence;
                    if tx.send(Ok(event(e))).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tx.closed() => return,
                    _ = written.changed() => {
                        // Written before its commit: let the commit land.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    type WatchRevokedTokensStream =
        Pin<Box<dyn Stream<Item = Result<pb::RevokedToken, Status>> + Send>>;

    async fn watch_revoked_tokens(
        &self,
        _req: Request<pb::WatchRevokedTokensRequest>,
    ) -> RpcResult<Self::WatchRevokedTokensStream> {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let db = self.db.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            // Polled (not woken per event write: one query per gateway per write would
            // cost more than it saves). Events are stamped just before their commit: look back far enough to catch
            // one that committed late, and remember what was sent.
            let mut sent: HashMap<uuid::Uuid, chrono::DateTime<chrono::Utc>> = HashMap::new();
            loop {
                let now = chrono::Utc::now();
                let since = now - REVOCATION_LOOKBACK;
                sent.retain(|_, at| *at >= since);
                match store::events::revocations_since(&db, since).await {
                    Ok(events) => {
                        for e in events {
                            if sent.insert(e.id, e.occurred_at).is_some() {
                                continue;
                            }
                            let revoked = pb::RevokedToken {
                                token_id: e.resource_id,
                                workspace_id: e.workspace_id.to_string(),
                            };
                            if tx.send(Ok(revoked)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(err) => {
                        let _ = tx.send(Err(to_status(err))).await;
                        return;
                    }
                }
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn create_webhook(
        &self,
        req: Request<pb::CreateWebhookRequest>,
    ) -> RpcResult<pb::CreateWebhookResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let endpoint = crate::ops::retry::retrying(|| {
            ops::webhooks::create_webhook(&self.db, workspace_id, &req.url, &req.event_types)
        })
        .await
        .map_err(to_status)?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(webhook(&endpoint)),
            secret: endpoint.secret,
        }))
    }

    async fn list_webhooks(
        &self,
        req: Request<pb::ListWebhooksRequest>,
    ) -> RpcResult<pb::ListWebhooksResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        let list = ops::webhooks::list_webhooks(&self.db, workspace_id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: list.iter().map(webhook).collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        req: Request<pb::WebhookRequest>,
    ) -> RpcResult<pb::DeleteWebhookResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("webhook", &req.id)?;
        crate::ops::retry::retrying(|| ops::webhooks::delete_webhook(&self.db, workspace_id, id))
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn set_webhook_enabled(
        &self,
        req: Request<pb::SetWebhookEnabledRequest>,
    ) -> RpcResult<pb::Webhook> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("webhook", &req.id)?;
        let endpoint = crate::ops::retry::retrying(|| {
            ops::webhooks::set_webhook_enabled(&self.db, workspace_id, id, req.enabled)
        })
        .await
        .map_err(to_status)?;
        Ok(Response::new(webhook(&endpoint)))
    }

    async fn list_webhook_deliveries(
        &self,
        req: Request<pb::WebhookRequest>,
    ) -> RpcResult<pb::ListWebhookDeliveriesResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("webhook", &req.id)?;
        let (endpoint, attempts) = ops::webhooks::list_deliveries(&self.db, workspace_id, id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            webhook: Some(webhook(&endpoint)),
            deliveries: attempts
                .into_iter()
                .map(|a| pb::WebhookDelivery {
                    event_id: a.event_id.to_string(),
                    sequence: a.sequence,
                    event_type: a.event_type,
                    attempt: a.attempt,
                    status: a.status.unwrap_or_default(),
                    latency_ms: a.latency_ms,
                    error: a.error.unwrap_or_default(),
                    attempted_at: Some(timestamp(a.attempted_at)),
                })
                .collect(),
        }))
    }
}

/// The actor a request names: the SCIM token the gateway authenticated, or the caller's
/// self-declared name. Values are ids and names only, never secrets.
pub fn actor_of(headers: &http::HeaderMap) -> Actor {
    let text = |key: &str| {
        headers
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    if let Some(token_id) = text(ACTOR_TOKEN_METADATA_KEY) {
        return Actor {
            kind: "token".into(),
            id: token_id,
            name: String::new(),
        };
    }
    Actor {
        kind: "grpc".into(),
        id: text(ACTOR_METADATA_KEY).unwrap_or_else(|| "anonymous".into()),
        name: String::new(),
    }
}

/// Runs each call of the wrapped service with its actor in `ops::events::ACTOR`, so that
/// every event written while serving it names who drove it.
#[derive(Clone)]
pub struct WithActor<S>(pub S);

impl<S: tonic::server::NamedService> tonic::server::NamedService for WithActor<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for WithActor<S>
where
    S: Service<http::Request<B>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let actor = actor_of(req.headers());
        Box::pin(ops::events::ACTOR.scope(actor, self.0.call(req)))
    }
}
