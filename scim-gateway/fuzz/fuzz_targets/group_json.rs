//! Arbitrary bytes → (if valid JSON) the Group body translator, and the rendering back.
//!
//! Properties: no input panics, and an accepted body yields what the gRPC layer relies on
//! (a non-blank displayName, every member with a non-blank user id, no extension stored:
//! a workspace declares no group extension schemas); rendering the parsed group as SCIM
//! JSON and parsing that again gives the same attributes.
#![no_main]

use directory_proto::v1::Group;
use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::group::{group_attributes_from_json, group_to_json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(attributes) = group_attributes_from_json(body) else {
        return;
    };
    assert!(!attributes.display_name.trim().is_empty(), "{attributes:?}");
    assert!(attributes.extensions.is_none(), "{attributes:?}");
    for member in &attributes.members {
        assert!(!member.value.trim().is_empty(), "{attributes:?}");
    }

    let group = Group {
        id: "01939a6e-7c2b-7d3e-8f4a-0123456789ab".into(),
        attributes: Some(attributes.clone()),
        members_included: true,
        ..Default::default()
    };
    let rendered = group_to_json(&group, "https://scim.example.com");
    let reparsed = group_attributes_from_json(rendered.clone())
        .unwrap_or_else(|e| panic!("rendered group refused: {e:?}\n{rendered}"));
    assert_eq!(reparsed, attributes, "{rendered}");
});
