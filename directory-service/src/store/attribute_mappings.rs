use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::entity::attribute_mapping;
use super::{WriteTx, db_error};
use crate::domain::DomainResult;
use crate::domain::attribute_mappings::{AttributeMapping, Destination};

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Vec<AttributeMapping>> {
    attribute_mapping::Entity::find()
        .filter(attribute_mapping::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(attribute_mapping::Column::CreatedAt)
        .order_by_asc(attribute_mapping::Column::Destination)
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|row| {
            Ok(AttributeMapping {
                destination: Destination::parse(&row.destination)?,
                source: row.source,
                template: row.template,
            })
        })
        .collect()
}

pub async fn set(
    tx: &WriteTx,
    workspace_id: Uuid,
    mapping: &AttributeMapping,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let db = tx.conn();
    delete(tx, workspace_id, &mapping.destination.as_string()).await?;
    attribute_mapping::ActiveModel {
        workspace_id: Set(workspace_id),
        destination: Set(mapping.destination.as_string()),
        source: Set(mapping.source.clone()),
        template: Set(mapping.template.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub async fn delete(tx: &WriteTx, workspace_id: Uuid, destination: &str) -> DomainResult<u64> {
    let db = tx.conn();
    Ok(attribute_mapping::Entity::delete_many()
        .filter(attribute_mapping::Column::WorkspaceId.eq(workspace_id))
        .filter(attribute_mapping::Column::Destination.eq(destination))
        .exec(db)
        .await
        .map_err(db_error)?
        .rows_affected)
}
