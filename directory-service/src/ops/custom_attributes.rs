use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::DomainResult;
use crate::domain::custom_attributes::CustomAttribute;
use crate::store::{self, Db};

pub async fn declare_custom_attribute(
    db: &Db,
    workspace_id: Uuid,
    attribute: CustomAttribute,
) -> DomainResult<(CustomAttribute, DateTime<Utc>)> {
    let attribute = attribute.validated()?;
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::custom_attributes::insert(db, workspace_id, &attribute, Utc::now()).await
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
    store::custom_attributes::delete(db, workspace_id, schema, name).await
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
