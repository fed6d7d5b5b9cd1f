use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::entity::custom_attribute;
use super::{WriteTx, db_error};
use crate::domain::custom_attributes::{AttributeKind, CustomAttribute};
use crate::domain::{DomainError, DomainResult};

fn to_domain(row: custom_attribute::Model) -> DomainResult<(CustomAttribute, DateTime<Utc>)> {
    let kind = AttributeKind::parse(&row.kind)
        .ok_or_else(|| DomainError::Storage(format!("unknown attribute kind {:?}", row.kind)))?;
    Ok((
        CustomAttribute {
            schema: row.schema,
            name: row.name,
            kind,
            multi_valued: row.multi_valued,
            case_exact: row.case_exact,
            description: row.description,
        },
        row.created_at,
    ))
}

pub async fn insert(
    tx: &WriteTx,
    workspace_id: Uuid,
    attribute: &CustomAttribute,
    now: DateTime<Utc>,
) -> DomainResult<(CustomAttribute, DateTime<Utc>)> {
    let db = tx.conn();
    let row = custom_attribute::ActiveModel {
        workspace_id: Set(workspace_id),
        schema_key: Set(attribute.schema.to_ascii_lowercase()),
        name_key: Set(attribute.name.to_ascii_lowercase()),
        schema: Set(attribute.schema.clone()),
        name: Set(attribute.name.clone()),
        kind: Set(attribute.kind.as_str().to_owned()),
        multi_valued: Set(attribute.multi_valued),
        case_exact: Set(attribute.case_exact),
        description: Set(attribute.description.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| match db_error(e) {
        DomainError::Uniqueness(_) => DomainError::Uniqueness(format!(
            "{}:{} is already declared",
            attribute.schema, attribute.name
        )),
        other => other,
    })?;
    to_domain(row)
}

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Vec<(CustomAttribute, DateTime<Utc>)>> {
    custom_attribute::Entity::find()
        .filter(custom_attribute::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(custom_attribute::Column::SchemaKey)
        .order_by_asc(custom_attribute::Column::NameKey)
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(to_domain)
        .collect()
}

pub async fn delete(
    tx: &WriteTx,
    workspace_id: Uuid,
    schema: &str,
    name: &str,
) -> DomainResult<()> {
    let db = tx.conn();
    let result = custom_attribute::Entity::delete_many()
        .filter(custom_attribute::Column::WorkspaceId.eq(workspace_id))
        .filter(custom_attribute::Column::SchemaKey.eq(schema.to_ascii_lowercase()))
        .filter(custom_attribute::Column::NameKey.eq(name.to_ascii_lowercase()))
        .exec(db)
        .await
        .map_err(db_error)?;
    if result.rows_affected == 0 {
        return Err(DomainError::NotFound(format!(
            "{schema}:{name} is not declared"
        )));
    }
    Ok(())
}
