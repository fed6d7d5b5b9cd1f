//! Fast seeding straight into the tables with `INSERT ... SELECT generate_series`.
//!
//! Every seeded user is a copy of a template user that was created through the API, with
//! its identity columns (and the same fields inside the `profile` JSON) rewritten; columns
//! this file does not know are copied from the template, so a new migration that adds a
//! column with a value does not break seeding.

use std::fmt::Write as _;

use uuid::Uuid;

use crate::postgres::Postgres;

/// Milliseconds since the epoch in every seeded id: earlier than any id the directory
/// mints (UUIDv7), so seeded users come first in id (= paging) order.
const SEED_ID_MILLIS: u64 = 1_700_000_000_000;

/// The id of seeded user number `n`: a UUIDv7 layout (48-bit time, version 7, variant 10)
/// with `n` in the random bits, so ids grow with `n`.
pub fn seeded_user_id(n: u64) -> Uuid {
    let hex = format!("{SEED_ID_MILLIS:012x}70008{n:015x}");
    Uuid::parse_str(&hex).expect("32 hex digits")
}

pub fn seeded_user_name(n: u64) -> String {
    format!("user{n}@bench.test")
}

pub fn seeded_external_id(n: u64) -> String {
    format!("ext-{n}")
}

fn seeded_id_sql(n: &str) -> String {
    format!(
        "(lpad(to_hex({SEED_ID_MILLIS}::bigint), 12, '0') || '70008' || lpad(to_hex({n}), 15, '0'))::uuid"
    )
}

fn columns(pg: &Postgres, database: &str, table: &str) -> anyhow::Result<Vec<String>> {
    let out = pg.sql(
        database,
        &format!(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    )?;
    Ok(out.lines().map(str::to_owned).collect())
}

/// Which workspaces to seed: `workspaces_sql` is a query returning `(ws uuid, k bigint)`,
/// k numbering the workspaces from 1.
pub struct SeedUsers<'a> {
    pub template_user_id: &'a str,
    pub workspaces_sql: String,
    pub per_workspace: u64,
    /// Seeded user numbers start here; workspace k gets
    /// `first + (k-1)*per_workspace ..= first + k*per_workspace - 1`.
    pub first: u64,
    pub workspace_count: u64,
}

impl SeedUsers<'_> {
    pub fn last(&self) -> u64 {
        self.first + self.per_workspace * self.workspace_count - 1
    }

    /// Inserts the users, adds them to their workspaces' stored counts, inserts their
    /// email index rows, then analyzes both tables.
    pub fn run(&self, pg: &Postgres, database: &str) -> anyhow::Result<()> {
        let n = "x.n";
        let name = format!("('user' || {n} || '@bench.test')");
        let external_id = format!("('ext-' || {n})");
        let display_name = format!("('Bench User ' || {n})");
        let given_name = format!("('Given' || {n})");
        let profile = format!(
            "jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(t.profile::jsonb, \
             '{{userName}}', to_jsonb({name})), \
             '{{externalId}}', to_jsonb({external_id})), \
             '{{displayName}}', to_jsonb({display_name})), \
             '{{name,givenName}}', to_jsonb({given_name})), \
             '{{emails,0,value}}', to_jsonb({name}))"
        );
        let mut select = String::new();
        let user_columns = columns(pg, database, "users")?;
        for (i, column) in user_columns.iter().enumerate() {
            let expression = match column.as_str() {
                "id" => seeded_id_sql(n),
                "workspace_id" => "w.ws".into(),
                "user_name" | "user_name_key" => name.clone(),
                "external_id" => external_id.clone(),
                "display_name" => display_name.clone(),
                "display_name_key" => format!("lower({display_name})"),
                "given_name" => given_name.clone(),
                "profile" => profile.clone(),
                other => format!("t.\"{other}\""),
            };
            if i > 0 {
                select.push_str(", ");
            }
            write!(select, "{expression}").expect("write to a String");
        }
        let quoted = |cols: &[String]| {
            cols.iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        pg.sql(
            database,
            &format!(
                "INSERT INTO users ({}) SELECT {select} FROM users t \
                 CROSS JOIN ({}) AS w \
                 CROSS JOIN generate_series(0, {} - 1) AS s(i) \
                 CROSS JOIN LATERAL (SELECT ({} + (w.k - 1) * {} + s.i)::bigint AS n) AS x \
                 WHERE t.id = '{}'",
                quoted(&user_columns),
                self.workspaces_sql,
                self.per_workspace,
                self.first,
                self.per_workspace,
                self.template_user_id
            ),
        )?;

        // The directory keeps each workspace's user count in `workspace_counts` (its write
        // step does, for writes through it): rows inserted here are added to it, or the
        // unfiltered list scenarios would answer the count from before the seeding.
        pg.sql(
            database,
            &format!(
                "INSERT INTO workspace_counts (workspace_id, users, groups) \
                 SELECT w.ws, {}, 0 FROM ({}) AS w \
                 ON CONFLICT (workspace_id) DO UPDATE \
                 SET users = workspace_counts.users + excluded.users",
                self.per_workspace, self.workspaces_sql
            ),
        )?;

        let email_columns = columns(pg, database, "user_emails")?;
        let mut select = String::new();
        for (i, column) in email_columns.iter().enumerate() {
            let expression = match column.as_str() {
                "user_id" => "u.id".to_owned(),
                "workspace_id" => "u.workspace_id".to_owned(),
                "value_key" => "u.user_name_key".to_owned(),
                other => format!("e.\"{other}\""),
            };
            if i > 0 {
                select.push_str(", ");
            }
            select.push_str(&expression);
        }
        pg.sql(
            database,
            &format!(
                "INSERT INTO user_emails ({}) SELECT {select} FROM user_emails e \
                 JOIN users u ON u.id BETWEEN '{}' AND '{}' WHERE e.user_id = '{}'",
                quoted(&email_columns),
                seeded_user_id(self.first),
                seeded_user_id(self.last()),
                self.template_user_id
            ),
        )?;
        // VACUUM as well: a freshly bulk-loaded table has no visibility map, so every
        // filtered `totalResults` count fetches heap pages that autovacuum would long have
        // marked all-visible in a running deployment.
        pg.sql(database, "VACUUM (ANALYZE) users")?;
        pg.sql(database, "VACUUM (ANALYZE) user_emails")?;
        Ok(())
    }
}

/// Makes seeded users `first..first+count` members of `group_id`.
pub fn seed_members(
    pg: &Postgres,
    database: &str,
    workspace_id: &str,
    group_id: &str,
    first: u64,
    count: u64,
) -> anyhow::Result<()> {
    pg.sql(
        database,
        &format!(
            "INSERT INTO group_members (group_id, user_id, workspace_id, created_at) \
             SELECT '{group_id}', id, workspace_id, now() FROM users \
             WHERE workspace_id = '{workspace_id}' AND id BETWEEN '{}' AND '{}'",
            seeded_user_id(first),
            seeded_user_id(first + count - 1)
        ),
    )?;
    pg.sql(database, "VACUUM (ANALYZE) group_members")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_uuidv7_and_grow_with_n() {
        let a = seeded_user_id(1);
        let b = seeded_user_id(2);
        let c = seeded_user_id(1_000_000);
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert!(a < b && b < c);
        // An id the directory mints today sorts after every seeded one.
        assert!(c < Uuid::now_v7());
    }
}
