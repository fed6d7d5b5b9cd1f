use chrono::Utc;
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::attribute_mappings::{AttributeMapping, Destination};
use crate::domain::events::EventType;
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db};

/// Sets the mapping for its destination (replacing any). It applies to users from their
/// next create or update on.
pub async fn set_attribute_mapping(
    db: &Db,
    workspace_id: Uuid,
    mapping: AttributeMapping,
) -> DomainResult<Vec<AttributeMapping>> {
    let mapping = mapping.validated()?;
    let mut write = Write::workspace(db, workspace_id).await?;
    store::attribute_mappings::set(write.tx(), workspace_id, &mapping, Utc::now()).await?;
    write.record(Change::AttributeMappingsChanged);
    write.event(super::events::resource(
        EventType::AttributeMappingSet,
        "attribute_mapping",
        mapping.destination.as_string(),
        serde_json::json!({
            "source": mapping.source,
            "destination": mapping.destination.as_string(),
            "template": mapping.template,
        }),
    ));
    let all = store::attribute_mappings::list(write.conn(), workspace_id).await?;
    write.commit().await?;
    Ok(all)
}

pub async fn delete_attribute_mapping(
    db: &Db,
    workspace_id: Uuid,
    destination: &str,
) -> DomainResult<Vec<AttributeMapping>> {
    let destination = Destination::parse(destination)?.as_string();
    let mut write = Write::workspace(db, workspace_id).await?;
    if store::attribute_mappings::delete(write.tx(), workspace_id, &destination).await? == 0 {
        write.abandon().await?;
        return Err(DomainError::NotFound(format!(
            "no attribute mapping to {destination}"
        )));
    }
    write.record(Change::AttributeMappingsChanged);
    write.event(super::events::resource(
        EventType::AttributeMappingDeleted,
        "attribute_mapping",
        &destination,
        serde_json::json!({ "destination": destination }),
    ));
    let all = store::attribute_mappings::list(write.conn(), workspace_id).await?;
    write.commit().await?;
    Ok(all)
}

pub async fn list_attribute_mappings(
    db: &Db,
    workspace_id: Uuid,
) -> DomainResult<Vec<AttributeMapping>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::attribute_mappings::list(db, workspace_id).await
}
