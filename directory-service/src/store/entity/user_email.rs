use sea_orm::entity::prelude::*;

/// Index of users' email addresses, so `emails.value eq "..."` and
/// `emails[type eq "work"].value eq "..."` are indexed lookups. Rewritten with the user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_emails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub workspace_id: Uuid,
    /// Lowercased address (emails are `caseExact: false`).
    pub value_key: String,
    /// Lowercased type, if any.
    pub type_key: Option<String>,
    pub primary: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
