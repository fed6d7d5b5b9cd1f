//! Arbitrary bytes → (if valid JSON) the PatchOp and User body translators.
//!
//! Properties: no input panics, and an accepted body yields the invariants the gRPC
//! layer relies on (every PATCH operation has a known op and a target, a path without an
//! attribute only for the remove of a whole extension, every value typed; a User has a
//! non-blank userName).
#![no_main]

use directory_proto::v1::PatchOp;
use directory_proto::v1::PatchOperation;
use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::patch::{group_patch_operations_from_json, patch_operations_from_json};
use scim_gateway::scim::user::user_attributes_from_json;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };

    if let Ok(operations) = patch_operations_from_json(body.clone()) {
        check(&operations);
    }
    if let Ok(operations) = group_patch_operations_from_json(body.clone()) {
        check(&operations);
        for operation in &operations {
            assert!(
                operation.value_filter.is_none() || !is_members(operation),
                "{operation:?}"
            );
        }
    }

    if let Ok(user) = user_attributes_from_json(body) {
        assert!(!user.user_name.trim().is_empty(), "{user:?}");
    }
});

fn check(operations: &[PatchOperation]) {
    for operation in operations {
        let op = PatchOp::try_from(operation.op).expect("valid op");
        assert_ne!(op, PatchOp::Unspecified);
        let path = operation.path.as_ref().expect("operation without a path");
        assert!(
            !path.attribute.is_empty() || (!path.schema.is_empty() && op == PatchOp::Remove),
            "{operation:?}"
        );
        if op != PatchOp::Remove {
            assert!(operation.value.is_some(), "{operation:?}");
        }
        if let Some(value) = &operation.value {
            assert!(value.kind.is_some(), "{operation:?}");
        }
    }
}

fn is_members(operation: &PatchOperation) -> bool {
    operation.path.as_ref().is_some_and(|p| {
        p.schema.is_empty()
            && p.attribute.eq_ignore_ascii_case("members")
            && p.sub_attribute.is_empty()
    })
}
