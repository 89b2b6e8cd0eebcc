//! Packaging metadata: the version lives in Cargo.toml and the owner in packaging/release.env;
//! every committed copy (npm packages, the MCP bundle manifest, the MCP Registry's server.json,
//! README, Cargo.toml's URLs, the release workflow's targets) must agree with them. A failure
//! here is fixed by `node scripts/packaging.mjs stamp --write`. The schema, `mcpb validate` and
//! actionlint checks run in scripts/check-packaging.sh; the end-to-end ones in
//! scripts/package-e2e.sh.

use std::path::Path;

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const FIX: &str = "run `node scripts/packaging.mjs stamp --write` and commit the result";

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn str_at<'a>(value: &'a Value, pointer: &str, file: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{file}: no string at {pointer}"))
}

struct Release {
    owner: String,
    repo: String,
    scope: String,
}

impl Release {
    fn load() -> Self {
        let text = read("packaging/release.env");
        let get = |key: &str| {
            text.lines()
                .find_map(|line| line.trim().strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("packaging/release.env has no {key}"))
                .to_owned()
        };
        Self {
            owner: get("GITHUB_OWNER"),
            repo: get("GITHUB_REPO"),
            scope: get("NPM_SCOPE"),
        }
    }
    fn base(&self) -> String {
        format!("https://github.com/{}/{}", self.owner, self.repo)
    }
    fn mcp_name(&self) -> String {
        format!("io.github.{}/{}", self.owner, self.repo)
    }
}

fn platform_keys() -> Vec<String> {
    let platforms = json("npm/kling-omni-mcp/platforms.json");
    let keys: Vec<String> = platforms
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "//")
        .cloned()
        .collect();
    // serde_json's maps are sorted by key.
    assert_eq!(
        keys,
        [
            "darwin-arm64",
            "darwin-x64",
            "linux-arm64",
            "linux-x64",
            "win32-x64"
        ],
        "the npm platforms"
    );
    keys
}

#[test]
fn every_committed_copy_carries_the_cargo_version() {
    let mut found = Vec::new();
    let mut check = |file: &str, what: &str, version: &str| {
        found.push((format!("{file} {what}"), version.to_owned()));
    };

    let launcher = json("npm/kling-omni-mcp/package.json");
    check(
        "npm/kling-omni-mcp/package.json",
        "version",
        str_at(&launcher, "/version", "launcher"),
    );
    for (name, spec) in launcher["optionalDependencies"].as_object().unwrap() {
        check(
            "npm/kling-omni-mcp/package.json",
            name,
            spec.as_str().unwrap(),
        );
    }

    let manifest = json("packaging/mcpb/manifest.json");
    check(
        "packaging/mcpb/manifest.json",
        "version",
        str_at(&manifest, "/version", "manifest"),
    );

    let server = json("packaging/server.json");
    check(
        "packaging/server.json",
        "version",
        str_at(&server, "/version", "server.json"),
    );
    let mut wrong = Vec::new();
    for package in server["packages"].as_array().unwrap() {
        let kind = str_at(package, "/registryType", "server.json");
        check(
            "packaging/server.json",
            kind,
            str_at(package, "/version", "server.json"),
        );
        if kind == "mcpb" {
            let url = str_at(package, "/identifier", "server.json");
            let tail = format!("/releases/download/v{VERSION}/kling-omni-mcp-{VERSION}.mcpb");
            if !url.ends_with(&tail) {
                wrong.push(format!(
                    "packaging/server.json mcpb identifier {url} does not end {tail}"
                ));
            }
        }
    }

    wrong.extend(
        found
            .into_iter()
            .filter(|(_, version)| version != VERSION)
            .map(|(what, version)| format!("{what} is {version}")),
    );
    assert!(
        wrong.is_empty(),
        "Cargo.toml has version {VERSION}, but:\n  {}\n{FIX}",
        wrong.join("\n  ")
    );
}

#[test]
fn every_committed_copy_names_the_same_owner() {
    let release = Release::load();
    let (base, name) = (release.base(), release.mcp_name());

    let server = json("packaging/server.json");
    assert_eq!(
        str_at(&server, "/name", "server.json"),
        name,
        "server.json name; {FIX}"
    );
    assert_eq!(
        str_at(&server, "/repository/url", "server.json"),
        base,
        "{FIX}"
    );

    let launcher = json("npm/kling-omni-mcp/package.json");
    assert_eq!(
        str_at(&launcher, "/mcpName", "launcher"),
        name,
        "npm mcpName (the registry's npm ownership proof); {FIX}"
    );
    assert_eq!(
        str_at(&launcher, "/repository/url", "launcher"),
        format!("git+{base}.git"),
        "{FIX}"
    );
    let deps: Vec<&String> = launcher["optionalDependencies"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let expected: Vec<String> = platform_keys()
        .iter()
        .map(|k| format!("@{}/{k}", release.scope))
        .collect();
    assert_eq!(
        deps,
        expected.iter().collect::<Vec<_>>(),
        "the launcher's platform packages; {FIX}"
    );

    let manifest = json("packaging/mcpb/manifest.json");
    assert_eq!(
        str_at(&manifest, "/repository/url", "manifest"),
        base,
        "{FIX}"
    );

    assert_eq!(
        env!("CARGO_PKG_REPOSITORY"),
        base,
        "Cargo.toml repository; {FIX}"
    );
    let readme = read("README.md");
    assert!(
        readme
            .lines()
            .any(|line| line == format!("mcp-name: {name}")),
        "README.md needs the line `mcp-name: {name}` (the registry's crates.io ownership proof); {FIX}"
    );
}

#[test]
fn bundle_manifest_keeps_the_key_secret_and_covers_the_platforms() {
    let manifest = json("packaging/mcpb/manifest.json");
    assert_eq!(manifest["manifest_version"], "0.3");
    assert_eq!(manifest["server"]["type"], "binary");
    let config = &manifest["server"]["mcp_config"];
    assert_eq!(config["env"]["COMETAPI_KEY"], "${user_config.cometapi_key}");
    assert_eq!(
        config["env"]["KLING_MCP_OUTPUT_DIR"],
        "${user_config.output_dir}"
    );
    assert!(
        !config["args"].to_string().contains("user_config"),
        "user settings reach the server through its environment only"
    );
    let key = &manifest["user_config"]["cometapi_key"];
    assert_eq!(
        key["sensitive"], true,
        "the key is stored as a secret by the host"
    );
    assert_eq!(manifest["user_config"]["output_dir"]["type"], "directory");

    let platforms = manifest["compatibility"]["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 3);
    for platform in platforms {
        let platform = platform.as_str().unwrap();
        let command = str_at(
            config,
            &format!("/platform_overrides/{platform}/command"),
            "manifest",
        );
        assert!(
            command.starts_with("${__dirname}/server/"),
            "{platform}: {command}"
        );
    }
    let entry = str_at(&manifest, "/server/entry_point", "manifest");
    assert_eq!(
        str_at(config, "/command", "manifest"),
        format!("${{__dirname}}/{entry}")
    );
}

#[test]
fn registry_entry_marks_the_key_secret_in_every_package() {
    let server = json("packaging/server.json");
    let packages = server["packages"].as_array().unwrap();
    let kinds: Vec<&str> = packages
        .iter()
        .map(|p| str_at(p, "/registryType", "server.json"))
        .collect();
    assert_eq!(kinds, ["npm", "cargo", "mcpb"]);
    for package in packages {
        let key = package["environmentVariables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "COMETAPI_KEY")
            .expect("COMETAPI_KEY in every package");
        assert_eq!(key["isSecret"], true);
        assert_eq!(package["transport"]["type"], "stdio");
    }
    assert_eq!(server["remotes"][0]["type"], "streamable-http");
    assert!(str_at(&server, "/remotes/0/url", "server.json").ends_with("/mcp"));
}

#[test]
fn release_workflow_builds_every_target_the_packages_name() {
    let workflow = read(".github/workflows/release.yml");
    let platforms = json("npm/kling-omni-mcp/platforms.json");
    for key in platform_keys() {
        let target = str_at(&platforms, &format!("/{key}/target"), "platforms.json");
        assert!(
            workflow.contains(&format!("- target: {target}\n")),
            "the release workflow's matrix lacks {target} (npm package {key})"
        );
    }
    for needed in [
        "bash scripts/build-release.sh",
        "bash scripts/package.sh",
        "bash scripts/package-e2e.sh",
        "lipo -create",
        "SHA256SUMS",
    ] {
        assert!(
            workflow.contains(needed),
            "the release workflow no longer runs `{needed}`"
        );
    }
    // cargo binstall finds the archives the workflow publishes.
    let cargo = read("Cargo.toml");
    assert!(cargo.contains(
        r#"pkg-url = "{ repo }/releases/download/v{ version }/{ name }-{ version }-{ target }{ archive-suffix }""#
    ));
    let package = read("scripts/package.sh");
    assert!(package.contains(r#"name="kling-omni-mcp-$version-$target""#));
}
