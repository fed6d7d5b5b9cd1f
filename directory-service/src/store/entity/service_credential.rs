use sea_orm::entity::prelude::*;

/// A caller of the directory's gRPC API. Only a SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    /// `gateway`, `reader` or `admin` (`domain::credentials::Role`).
    pub role: String,
    /// The public lookup prefix (`dsc_XXXXXXXXXXXX`), unique.
    #[sea_orm(unique)]
    pub prefix: String,
    /// Hex SHA-256 of the whole secret.
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
