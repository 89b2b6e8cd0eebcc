//! The newcomer's first ten minutes (`scripts/newcomer.sh`): the README's first steps on a
//! fresh account, with the binary under test. Run with `cargo test --test it newcomer`.

use crate::support::BIN;

#[tokio::test]
async fn the_readme_first_steps_work_on_a_fresh_account() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/newcomer.sh");
    let output = tokio::process::Command::new("bash")
        .arg(script)
        .arg(BIN)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("newcomer: all steps passed"), "{log}");
}
