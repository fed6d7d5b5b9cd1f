//! The `directory.v1` contract. Nothing here is hand-written but conversions of wire types
//! and the bundle of service clients (`client`).

pub mod directory {
    pub mod v1 {
        tonic::include_proto!("directory.v1");
    }
}

pub use directory::v1;

pub mod client;
pub mod json;

pub use client::DirectoryClient;

/// Encoded descriptors of `directory.v1`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/directory_descriptor.bin"));

/// Metadata key that carries the internal service credential on every directory RPC.
pub const CREDENTIAL_METADATA_KEY: &str = "x-directory-credential";

/// Metadata key where a gRPC caller names itself (e.g. `scimctl`) for the audit log.
pub const ACTOR_METADATA_KEY: &str = "x-directory-actor";

/// Metadata key where the gateway passes the id of the SCIM token that authenticated the
/// request, so that events name the token that drove a change.
pub const ACTOR_TOKEN_METADATA_KEY: &str = "x-directory-actor-token";

/// `google.rpc.ErrorInfo.domain` of every directory error.
pub const ERROR_DOMAIN: &str = "directory.v1";

/// The largest gRPC message the directory, the gateway and scimctl send or accept. tonic's
/// 4 MiB default refused a group of ~30k members; a 100k-member group is ~8 MiB. Set on
/// every server and client so the limit is a decision, not a default.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Fewest characters the shared service credential may have. The directory and the gateway
/// refuse to start with a shorter (or empty) one: an empty credential would let any caller
/// that sends an empty `x-directory-credential` in.
pub const MIN_CREDENTIAL_CHARS: usize = 16;

/// Checks the service credential at start; the message never repeats the value.
pub fn check_credential(credential: &str) -> Result<(), String> {
    let chars = credential.chars().count();
    if credential.trim().is_empty() {
        return Err("the service credential (DIRECTORY_CREDENTIAL) is empty".into());
    }
    if chars < MIN_CREDENTIAL_CHARS {
        return Err(format!(
            "the service credential (DIRECTORY_CREDENTIAL) has {chars} characters, fewer than \
             {MIN_CREDENTIAL_CHARS}: use a random one, e.g. `openssl rand -base64 32`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_or_empty_credentials_are_refused_without_echoing_them() {
        for bad in ["", "   ", "dev", "fifteen-chars-x"] {
            let err = super::check_credential(bad).unwrap_err();
            assert!(err.contains("DIRECTORY_CREDENTIAL"), "{err}");
            assert!(bad.trim().is_empty() || !err.contains(bad), "{err}");
        }
        assert!(super::check_credential("0123456789abcdef").is_ok());
    }
}
