//! Architecture invariants from ARCHITECTURE.md, checked against `cargo metadata`.

use std::collections::BTreeSet;

fn dependencies_of(metadata: &serde_json::Value, package: &str) -> BTreeSet<String> {
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("package {package} not in the workspace"))["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn only_the_directory_talks_to_the_database() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let storage = ["sea-orm", "sea-orm-migration", "sqlx"];
    for package in ["scim-gateway", "admin-cli", "directory-proto"] {
        let deps = dependencies_of(&metadata, package);
        for forbidden in storage {
            assert!(
                !deps.contains(forbidden),
                "{package} must not depend on {forbidden}"
            );
        }
    }
    assert!(dependencies_of(&metadata, "directory-service").contains("sea-orm"));
    // Only the gateway speaks HTTP/SCIM JSON to the outside.
    for package in ["directory-service", "admin-cli"] {
        assert!(
            !dependencies_of(&metadata, package).contains("hyper"),
            "{package} must not serve HTTP"
        );
    }
}
