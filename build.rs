//! Turns on the PostgreSQL tests (`cfg(kling_pg_tests)`) when `KLING_MCP_TEST_POSTGRES` names
//! a server, or when `KLING_MCP_REQUIRE_POSTGRES` demands them (they then fail without one).
//! Without either, they are compiled as ignored, so `cargo test` counts them as skipped
//! instead of passing them silently.

fn main() {
    println!("cargo:rerun-if-env-changed=KLING_MCP_TEST_POSTGRES");
    println!("cargo:rerun-if-env-changed=KLING_MCP_REQUIRE_POSTGRES");
    let wanted = ["KLING_MCP_TEST_POSTGRES", "KLING_MCP_REQUIRE_POSTGRES"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if wanted {
        println!("cargo:rustc-cfg=kling_pg_tests");
    }
}
