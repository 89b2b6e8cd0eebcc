//! The two binaries the bench compares, built the same way: `cargo build --release --locked
//! --bin kling-omni-mcp`, into one target directory of their own, `target/perf-build` (so the
//! second build reuses the compiled dependencies).
//!
//! Not the binary `cargo bench` builds next to the bench: that one has the dev-dependencies'
//! features (tokio's `test-util`, whose clock takes a lock on every `Instant::now`), which a
//! user's build never has, and which the baseline would lack.
//!
//! The baseline revision is `KLING_PERF_BASELINE` (a tag, branch or commit; `none` skips it),
//! else [`DEFAULT_BASELINE`]. Its tree is exported with `git archive` (no worktree is
//! registered, the repository is not touched) into `target/perf-build/src-<commit>` and built
//! there; the binary is kept as `target/perf-build/kling-omni-mcp-<commit>`, so a later run
//! with the same commit starts at once. Any failure leaves the bench measuring the current
//! build alone, and says why.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tree before the work of issue 24 ("Memory and throughput"): what this round is measured
/// against. Set `KLING_PERF_BASELINE` to compare with another revision.
pub(crate) const DEFAULT_BASELINE: &str = "40a8c3d";

/// A binary under test.
#[derive(Debug, Clone)]
pub(crate) struct Build {
    /// `baseline <rev>` or `current`.
    pub(crate) label: String,
    /// The executable.
    pub(crate) bin: PathBuf,
}

/// The current tree's release build; `fallback` (the binary `cargo bench` built) if that
/// build fails.
pub(crate) fn current(target_dir: &Path, fallback: &str) -> Build {
    let root = target_dir.join("perf-build");
    let label = format!("current {}", describe_head());
    eprintln!("bench: building the current tree (release)");
    // A copy: the baseline's build writes the same `release/kling-omni-mcp` afterwards.
    let copy = root.join("kling-omni-mcp-current");
    let built = cargo_build(Path::new("."), &root).and_then(|()| {
        std::fs::copy(root.join("release/kling-omni-mcp"), &copy)
            .map_err(|e| format!("cannot copy the current build: {e}"))
    });
    match built {
        Ok(_) => Build { label, bin: copy },
        Err(why) => {
            eprintln!("bench: {why}; measuring the bench's own build (with test features)");
            Build {
                label,
                bin: PathBuf::from(fallback),
            }
        }
    }
}

/// The baseline build, or why there is none.
pub(crate) fn baseline(target_dir: &Path) -> Result<Build, String> {
    let wanted = std::env::var("KLING_PERF_BASELINE").unwrap_or_else(|_| DEFAULT_BASELINE.into());
    let wanted = wanted.trim();
    if wanted.is_empty() || wanted.eq_ignore_ascii_case("none") {
        return Err("KLING_PERF_BASELINE=none".into());
    }
    let commit = git(&["rev-parse", "--verify", &format!("{wanted}^{{commit}}")])
        .map_err(|e| format!("revision {wanted:?} not found: {e}"))?;
    let short = commit.get(..10).unwrap_or(&commit).to_owned();
    let root = target_dir.join("perf-build");
    let bin = root.join(format!("kling-omni-mcp-{commit}"));
    let label = format!("baseline {short}");
    if bin.is_file() {
        eprintln!(
            "bench: baseline {wanted} ({short}) already built: {}",
            bin.display()
        );
        return Ok(Build { label, bin });
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let src = root.join(format!("src-{commit}"));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    eprintln!(
        "bench: exporting baseline {wanted} ({short}) to {}",
        src.display()
    );
    // `git archive | tar -x`: the tree of that commit and nothing else of this checkout.
    let exported = Command::new("sh")
        .arg("-c")
        .arg("git archive --format=tar \"$0\" | tar -x -C \"$1\"")
        .arg(&commit)
        .arg(&src)
        .status()
        .map_err(|e| format!("git archive: {e}"))?;
    if !exported.success() {
        return Err(format!("git archive {short} failed ({exported})"));
    }
    eprintln!("bench: building baseline {short} (release; the first time takes minutes)");
    cargo_build(&src, &root).map_err(|e| format!("baseline {short}: {e}"))?;
    let out = root.join("release/kling-omni-mcp");
    std::fs::copy(&out, &bin).map_err(|e| format!("cannot copy {}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&src);
    Ok(Build { label, bin })
}

/// `cargo build --release --locked --bin kling-omni-mcp` of the package at `dir` into
/// `target_dir`.
fn cargo_build(dir: &Path, target_dir: &Path) -> Result<(), String> {
    let built = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "--bin", "kling-omni-mcp"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        // The bench's own build settings must not leak into the measured builds.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    match built.success() {
        true => Ok(()),
        false => Err(format!("cargo build failed ({built})")),
    }
}

/// The current commit, for the report (`-dirty` when the tree has changes).
pub(crate) fn describe_head() -> String {
    let head = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_else(|_| "unknown".into());
    let dirty = Command::new("git")
        .args(["diff", "--quiet", "HEAD", "--"])
        .status()
        .is_ok_and(|s| !s.success());
    if dirty { format!("{head}-dirty") } else { head }
}

fn git(args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
