//! Arbitrary bytes → (if valid JSON) the PatchOp and User body translators.
//!
//! Properties: no input panics, and an accepted body yields the invariants the gRPC
//! layer relies on (every PATCH operation has a known op and a target; a User has a
//! non-blank userName).
#![no_main]

use directory_proto::v1::PatchOp;
use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::patch::patch_operations_from_json;
use scim_gateway::scim::user::user_attributes_from_json;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };

    if let Ok(operations) = patch_operations_from_json(body.clone()) {
        for operation in &operations {
            let op = PatchOp::try_from(operation.op).expect("valid op");
            assert_ne!(op, PatchOp::Unspecified);
            let path = operation.path.as_ref().expect("operation without a path");
            assert!(
                !path.attribute.is_empty() || !path.schema.is_empty(),
                "{operation:?}"
            );
            if op != PatchOp::Remove {
                assert!(operation.value.is_some(), "{operation:?}");
            }
        }
    }

    if let Ok(user) = user_attributes_from_json(body) {
        assert!(!user.user_name.trim().is_empty(), "{user:?}");
    }
});
