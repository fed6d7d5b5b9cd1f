//! Compiles `directory/v1/*.proto` with protox (pure Rust), so no `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let mut compiler = protox::Compiler::new(["."])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files([
            "directory/v1/directory.proto",
            "directory/v1/errors.proto",
            "directory/v1/events.proto",
            "directory/v1/requests.proto",
            "directory/v1/rate_limits.proto",
            "directory/v1/group_members.proto",
            "directory/v1/credentials.proto",
            "directory/v1/token_rotation.proto",
            "directory/v1/oauth.proto",
        ])?;
    for file in compiler.files() {
        if let Some(path) = file.path() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    std::fs::write(
        out_dir.join("directory_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
