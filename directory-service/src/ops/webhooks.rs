//! Webhook endpoints: create (the secret is shown once), list, delete, enable (which also
//! resumes a failed endpoint), disable, and the attempt log. Each change is an event.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::write::Write;
use crate::domain::DomainResult;
use crate::domain::events::EventType;
use crate::domain::webhooks::{new_secret, validate_endpoint};
use crate::store::{self, Db, webhooks::Attempt, webhooks::Endpoint};

fn endpoint_json(endpoint: &Endpoint) -> serde_json::Value {
    json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    })
}

/// Creates an endpoint that receives the workspace's events from its own creation on.
/// Returns the endpoint and its secret (`whsec_...`), which no later call shows.
pub async fn create_webhook(
    db: &Db,
    workspace_id: Uuid,
    url: &str,
    event_types: &[String],
) -> DomainResult<Endpoint> {
    let url = url.trim();
    validate_endpoint(url, event_types)?;
    let mut write = Write::workspace(db, workspace_id).await?;
    let now = Utc::now();
    let mut endpoint =
        store::webhooks::new_endpoint(workspace_id, url, event_types, &new_secret(), 0, now);
    write.event(super::events::resource(
        EventType::WebhookCreated,
        "webhook",
        endpoint.id,
        endpoint_json(&endpoint),
    ));
    // The counter row stays locked until the commit: the endpoint starts with its own
    // creation event.
    if let Some(last) = write.write_events_now().await? {
        endpoint.cursor = last - 1;
    }
    let endpoint = store::webhooks::insert(write.tx(), endpoint).await?;
    write.commit().await?;
    Ok(endpoint)
}

pub async fn list_webhooks(db: &Db, workspace_id: Uuid) -> DomainResult<Vec<Endpoint>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::webhooks::list(db, workspace_id).await
}

pub async fn delete_webhook(db: &Db, workspace_id: Uuid, id: Uuid) -> DomainResult<()> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let endpoint = store::webhooks::find(write.conn(), workspace_id, id).await?;
    store::webhooks::delete(write.tx(), id).await?;
    write.event(super::events::resource(
        EventType::WebhookDeleted,
        "webhook",
        id,
        endpoint_json(&endpoint),
    ));
    write.commit().await?;
    Ok(())
}

/// Enables or disables an endpoint. Enabling a failed endpoint resumes it where it
/// stopped, with a fresh retry budget.
pub async fn set_webhook_enabled(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    enabled: bool,
) -> DomainResult<Endpoint> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let endpoint = store::webhooks::find(write.conn(), workspace_id, id).await?;
    let resumed = enabled && endpoint.failed;
    if endpoint.enabled == enabled && !resumed {
        write.abandon().await?;
        return Ok(endpoint);
    }
    store::webhooks::set_enabled(write.tx(), id, enabled, enabled, Utc::now()).await?;
    let endpoint = store::webhooks::find(write.conn(), workspace_id, id).await?;
    let event_type = if enabled {
        EventType::WebhookEnabled
    } else {
        EventType::WebhookDisabled
    };
    write.event(super::events::resource(
        event_type,
        "webhook",
        id,
        endpoint_json(&endpoint),
    ));
    write.commit().await?;
    Ok(endpoint)
}

/// The most attempts one listing returns.
const MAX_ATTEMPTS_LISTED: u64 = 1000;

pub async fn list_deliveries(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<(Endpoint, Vec<Attempt>)> {
    let endpoint = store::webhooks::find(db, workspace_id, id).await?;
    let attempts = store::webhooks::attempts(db, id, MAX_ATTEMPTS_LISTED).await?;
    Ok((endpoint, attempts))
}
