//! Membership changes on a large group cost O(members changed), not O(group size).
//!
//! Creates N users and one group holding all of them, then times single-member changes,
//! Entra's membership check and a members-excluded read against that group.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_db \
//!       cargo run --release -p directory-service --example membership_bench -- 100000
//!
//! Without DATABASE_URL it uses an in-memory SQLite database. The database must be empty
//! (the bench creates a workspace named `bench-<random>` and leaves its data behind).

use std::time::Instant;

use chrono::Utc;
use directory_service::domain::filter::{AttrPath, CompareOp, Filter, FilterValue};
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::paging::PageRequest;
use directory_service::domain::patch::{PatchOp, PatchOperation, PatchValue};
use directory_service::domain::users::{User, UserProfile};
use directory_service::{ops, store};
use uuid::Uuid;

fn members(op: PatchOp, id: Uuid) -> PatchOperation {
    PatchOperation {
        op,
        path: AttrPath {
            attribute: "members".into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(PatchValue::Members(vec![id.to_string()])),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let db = store::connect(&url).await?;
    store::migrate(&db).await?;
    let ws = ops::workspaces::create_workspace(
        &db,
        &format!("bench-{}", &Uuid::new_v4().simple().to_string()[..8]),
        "",
    )
    .await?
    .id;

    let started = Instant::now();
    let mut ids = Vec::with_capacity(n + 1);
    let mut write = ops::write::Write::profile(&db, ws).await?;
    let now = Utc::now();
    for i in 0..=n {
        let user = User {
            id: Uuid::now_v7(),
            workspace_id: ws,
            profile: UserProfile {
                user_name: format!("user{i}@bench.test"),
                active: Some(true),
                ..Default::default()
            },
            created: now,
            last_modified: now,
            version: 1,
            groups: Vec::new(),
        };
        let id = store::users::insert(write.tx(), &user).await?.id;
        write.record(ops::write::Change::UserCreated { user_id: id });
        ids.push(id);
    }
    write.commit().await?;
    println!(
        "setup: {} users inserted in {:.1?}",
        n + 1,
        started.elapsed()
    );

    let (outsider, members_ids) = ids.split_last().expect("at least one user");
    let member_values: Vec<String> = members_ids.iter().map(Uuid::to_string).collect();
    let started = Instant::now();
    let group = ops::groups::create_group(
        &db,
        ws,
        GroupProfile {
            display_name: "Everyone".into(),
            ..Default::default()
        },
        &member_values,
    )
    .await?;
    println!("create group with {n} members: {:.1?}", started.elapsed());
    let group_id = group.group.id;

    let time = |label: &str, started: Instant| {
        println!(
            "{label:<48} {:>8.2} ms",
            started.elapsed().as_secs_f64() * 1000.0
        )
    };
    for round in 0..3 {
        let started = Instant::now();
        ops::groups::patch_group(
            &db,
            ws,
            group_id,
            &[members(PatchOp::Add, *outsider)],
            None,
            false,
        )
        .await?;
        time(
            &format!("[{round}] PATCH add 1 member to {n}-member group"),
            started,
        );
        let started = Instant::now();
        ops::groups::patch_group(
            &db,
            ws,
            group_id,
            &[members(PatchOp::Remove, *outsider)],
            None,
            false,
        )
        .await?;
        time(
            &format!("[{round}] PATCH remove 1 member (value in body)"),
            started,
        );
    }
    let check = Filter::And(vec![
        Filter::Compare {
            path: AttrPath {
                attribute: "id".into(),
                ..Default::default()
            },
            op: CompareOp::Eq,
            value: FilterValue::String(group_id.to_string()),
        },
        Filter::Compare {
            path: AttrPath {
                attribute: "members".into(),
                ..Default::default()
            },
            op: CompareOp::Eq,
            value: FilterValue::String(members_ids[n / 2].to_string()),
        },
    ]);
    let started = Instant::now();
    let found = ops::groups::list_groups(
        &db,
        ws,
        Some(&check),
        None,
        PageRequest::index(1, None),
        false,
    )
    .await?;
    time("Entra membership check (id eq and members eq)", started);
    assert_eq!(found.total_results, 1);
    let started = Instant::now();
    ops::groups::get_group(&db, ws, group_id, false).await?;
    time("GET group, members excluded", started);
    let started = Instant::now();
    let full = ops::groups::get_group(&db, ws, group_id, true).await?;
    time(
        &format!(
            "GET group with all {} members",
            full.members.map_or(0, |m| m.len())
        ),
        started,
    );
    let by_name = Filter::Compare {
        path: AttrPath {
            attribute: "userName".into(),
            ..Default::default()
        },
        op: CompareOp::Eq,
        value: FilterValue::String(format!("USER{}@bench.test", n / 3)),
    };
    let started = Instant::now();
    let page =
        ops::users::list_users(&db, ws, Some(&by_name), None, PageRequest::index(1, None)).await?;
    time(
        &format!("userName eq lookup among {} users", n + 1),
        started,
    );
    assert_eq!(page.users.len(), 1);
    Ok(())
}
