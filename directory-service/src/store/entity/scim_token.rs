use sea_orm::entity::prelude::*;

/// A SCIM bearer token. Only a SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    /// The public lookup prefix (`scim_XXXXXXXXXXXX`), unique.
    #[sea_orm(unique)]
    pub prefix: String,
    /// Hex SHA-256 of the whole token.
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// `full`, `read-only`, `users-only` or `groups-only` (`domain::tokens::TokenScope`).
    pub scope: String,
    /// The token this one succeeded in a rotation.
    pub replaces: Option<Uuid>,
    /// The successor of a rotated token (whose `expires_at` is then the overlap's end).
    pub replaced_by: Option<Uuid>,
    /// Comma-separated CIDRs the token may be used from (None: anywhere).
    pub allowed_cidrs: Option<String>,
    /// Set on OAuth access tokens: the client they were issued to.
    pub oauth_client_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
