//! The optional NATS JetStream sink (`--events-nats-url`): every event is also published
//! to JetStream, on `<prefix>.<workspace_id>` (default prefix `scim.events`), with
//! `Nats-Msg-Id` = the event id so the server drops a repeat, in sequence order per
//! workspace, at least once.
//!
//! The cursor lives in the stream itself: the last message on a workspace's subject
//! carries the event's sequence (`Scim-Sequence` header), so after a restart — of the
//! directory or of NATS — publishing resumes right after the last event the stream
//! actually holds. Nothing is published out of order: each publish waits for the stream's
//! acknowledgement before the next; a failure stops the round and the same event is tried
//! again (the id de-duplicates it if the first try did land).

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream;
use uuid::Uuid;

use crate::ops::events::subscribe;
use crate::store::{self, Db, events::EventFilter};

/// Where the sink publishes.
#[derive(Clone, Debug)]
pub struct NatsSinkConfig {
    pub url: String,
    /// The JetStream stream (created if absent, capturing `<subject_prefix>.>`).
    pub stream: String,
    pub subject_prefix: String,
}

/// The header carrying the event's per-workspace sequence (the sink's cursor).
pub const SEQUENCE_HEADER: &str = "Scim-Sequence";
/// Events read and published per workspace per round.
const BATCH: u64 = 500;
/// How often the sink looks for events when nothing wakes it (other replicas' writes).
const POLL: Duration = Duration::from_millis(500);
/// Wait before connecting again after NATS failed.
const RETRY: Duration = Duration::from_secs(2);

/// Starts the sink when configured; it stops with `shutdown`.
pub fn spawn(
    db: Db,
    config: Option<NatsSinkConfig>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let config = config?;
    Some(tokio::spawn(run(db, config, shutdown)))
}

async fn run(db: Db, config: NatsSinkConfig, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut written = subscribe();
    let mut sink: Option<Sink> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if sink.is_none() {
            match Sink::connect(&config).await {
                Ok(connected) => sink = Some(connected),
                Err(err) => {
                    metrics::counter!("directory_nats_sink_failures_total").increment(1);
                    tracing::warn!(error = %err, "NATS event sink: cannot connect");
                }
            }
        }
        let wait = match sink.as_mut() {
            Some(connected) => match connected.round(&db).await {
                // A full batch: more is waiting, go on at once.
                Ok(true) => Duration::ZERO,
                Ok(false) => POLL,
                Err(err) => {
                    metrics::counter!("directory_nats_sink_failures_total").increment(1);
                    tracing::warn!(error = %err, "NATS event sink: publishing failed");
                    // Read the cursors from the stream again after a failure.
                    sink = None;
                    RETRY
                }
            },
            None => RETRY,
        };
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = written.changed() => {
                // The writer may not have committed yet: give it a moment.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

struct Sink {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
    subject_prefix: String,
    /// Last sequence published per workspace (read from the stream on first use).
    cursors: HashMap<Uuid, i64>,
}

impl Sink {
    async fn connect(config: &NatsSinkConfig) -> anyhow::Result<Sink> {
        let client = async_nats::connect(config.url.as_str()).await?;
        let context = jetstream::new(client);
        let stream = context
            .get_or_create_stream(jetstream::stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject_prefix)],
                ..Default::default()
            })
            .await?;
        Ok(Sink {
            context,
            stream,
            subject_prefix: config.subject_prefix.clone(),
            cursors: HashMap::new(),
        })
    }

    fn subject(&self, workspace_id: Uuid) -> String {
        format!("{}.{workspace_id}", self.subject_prefix)
    }

    /// The last sequence the stream holds for the workspace (0 when none).
    async fn stored_cursor(&self, workspace_id: Uuid) -> anyhow::Result<i64> {
        use jetstream::stream::LastRawMessageErrorKind;
        match self
            .stream
            .get_last_raw_message_by_subject(&self.subject(workspace_id))
            .await
        {
            Ok(message) => Ok(message
                .headers
                .get(SEQUENCE_HEADER)
                .and_then(|v| v.as_str().parse().ok())
                .unwrap_or(0)),
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(err) => Err(err.into()),
        }
    }

    /// Publishes the events after its cursor of every workspace that has new ones (one
    /// query over the sequence counters finds them), in order.
    async fn round(&mut self, db: &Db) -> anyhow::Result<bool> {
        let mut more = false;
        for (workspace_id, last) in store::events::last_sequences(db).await? {
            let cursor = match self.cursors.get(&workspace_id) {
                Some(cursor) => *cursor,
                None => {
                    let cursor = self.stored_cursor(workspace_id).await?;
                    self.cursors.insert(workspace_id, cursor);
                    cursor
                }
            };
            if cursor >= last {
                continue;
            }
            let filter = EventFilter {
                after_sequence: cursor,
                ..Default::default()
            };
            let events = store::events::list(db, workspace_id, &filter, BATCH).await?;
            more |= events.len() as u64 == BATCH;
            for event in events {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, event.id.to_string());
                headers.insert(SEQUENCE_HEADER, event.sequence.to_string());
                headers.insert("Scim-Event-Type", event.event_type.as_str());
                let body = serde_json::to_vec(&crate::delivery::webhook_body(&event))?;
                self.context
                    .publish_with_headers(self.subject(workspace_id), headers, body.into())
                    .await?
                    .await?;
                self.cursors.insert(workspace_id, event.sequence);
                metrics::counter!("directory_nats_sink_published_total").increment(1);
            }
        }
        Ok(more)
    }
}
