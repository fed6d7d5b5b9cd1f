//! The `directory.v1` contract. Nothing here is hand-written but conversions of wire types.

pub mod directory {
    pub mod v1 {
        tonic::include_proto!("directory.v1");
    }
}

pub use directory::v1;

pub mod json;

/// Encoded descriptors of `directory.v1`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/directory_descriptor.bin"));

/// Metadata key that carries the internal service credential on every directory RPC.
pub const CREDENTIAL_METADATA_KEY: &str = "x-directory-credential";

/// `google.rpc.ErrorInfo.domain` of every directory error.
pub const ERROR_DOMAIN: &str = "directory.v1";
