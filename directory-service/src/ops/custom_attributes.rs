use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::DomainResult;
use crate::domain::custom_attributes::CustomAttribute;
use crate::store::{self, Db};

pub async fn declare_custom_attribute(
    db: &Db,
    workspace_id: Uuid,
    attribute: CustomAttribute,
) -> DomainResult<(CustomAttribute, DateTime<Utc>)> {
    let attribute = attribute.validated()?;
    let mut write = Write::workspace(db, workspace_id).await?;
    let declared =
        store::custom_attributes::insert(write.tx(), workspace_id, &attribute, Utc::now()).await?;
    write.record(Change::CustomAttributesChanged);
    write.commit().await?;
    Ok(declared)
}

pub async fn list_custom_attributes(
    db: &Db,
    workspace_id: Uuid,
) -> DomainResult<Vec<(CustomAttribute, DateTime<Utc>)>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::custom_attributes::list(db, workspace_id).await
}

/// Removes a declaration. Values already stored stay in the users' profiles, kept
/// verbatim like any undeclared extension.
pub async fn delete_custom_attribute(
    db: &Db,
    workspace_id: Uuid,
    schema: &str,
    name: &str,
) -> DomainResult<()> {
    let mut write = Write::workspace(db, workspace_id).await?;
    store::custom_attributes::delete(write.tx(), workspace_id, schema, name).await?;
    write.record(Change::CustomAttributesChanged);
    write.commit().await?;
    Ok(())
}

/// The workspace's declarations, for checking and filtering user writes and reads.
pub async fn declared(
    db: &impl store::Conn,
    workspace_id: Uuid,
) -> DomainResult<Vec<CustomAttribute>> {
    Ok(store::custom_attributes::list(db, workspace_id)
        .await?
        .into_iter()
        .map(|(attribute, _)| attribute)
        .collect())
}
