#!/usr/bin/env node
// Packaging helpers for scripts/package.sh and scripts/check-packaging.sh (Node 18+, no deps
// except where a command says so). Subcommands:
//
//   stamp [--write]                  version (Cargo.toml) and owner (packaging/release.env) into
//                                    the committed npm/, packaging/ files, Cargo.toml and README.md;
//                                    without --write, list what disagrees and exit 1 if anything does
//   npm-platform KEY BINARY OUTDIR   a platform package (@scope/KEY) holding BINARY
//   mcpb-stage OUTDIR PLATFORM=BINARY...
//                                    a bundle directory with the manifest cut to the given
//                                    platforms (darwin, win32, linux)
//   server-json MCPB_FILE OUT        packaging/server.json with the bundle's fileSha256
//   validate-server-json SCHEMA FILE...
//                                    JSON-schema validation (ajv, from NODE_PATH) plus the official
//                                    registry's own rules for each package type
//   launch-config BUNDLE_DIR USER_CONFIG_JSON
//                                    the command, args and env Claude Desktop would start, computed
//                                    by @anthropic-ai/mcpb's getMcpConfigForManifest (from NODE_PATH)
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const at = (...parts) => path.join(root, ...parts);
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
const die = (message) => {
  process.stderr.write(`packaging: ${message}\n`);
  process.exit(1);
};
// Resolves packages installed by the scripts into target/package-tools (NODE_PATH).
const requireTool = (name) =>
  createRequire(path.join(process.env.NODE_PATH || at("target/package-tools/node_modules"), "x.js"))(name);

export const FILES = {
  cargo: "Cargo.toml",
  readme: "README.md",
  launcher: "npm/kling-omni-mcp/package.json",
  platforms: "npm/kling-omni-mcp/platforms.json",
  manifest: "packaging/mcpb/manifest.json",
  serverJson: "packaging/server.json",
  releaseEnv: "packaging/release.env",
};

function cargoVersion() {
  const text = readFileSync(at(FILES.cargo), "utf8");
  const match = /^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms.exec(text);
  if (!match) die("no version in Cargo.toml's [package]");
  return match[1];
}

function releaseEnv() {
  const env = {};
  for (const line of readFileSync(at(FILES.releaseEnv), "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  for (const key of ["GITHUB_OWNER", "GITHUB_REPO", "NPM_SCOPE"]) {
    if (!env[key]) die(`${FILES.releaseEnv} has no ${key}`);
  }
  return env;
}

/** Everything the release is named by, derived from the two sources. */
export function identity() {
  const env = releaseEnv();
  const version = cargoVersion();
  const base = `https://github.com/${env.GITHUB_OWNER}/${env.GITHUB_REPO}`;
  return {
    version,
    base,
    scope: env.NPM_SCOPE,
    mcpName: `io.github.${env.GITHUB_OWNER}/${env.GITHUB_REPO}`,
    mcpbUrl: `${base}/releases/download/v${version}/kling-omni-mcp-${version}.mcpb`,
  };
}

function platformKeys() {
  return Object.keys(readJson(at(FILES.platforms))).filter((k) => k !== "//");
}

/** The committed files with version and owner written in: [relative path, new text]. */
function stamped() {
  const id = identity();
  const out = [];

  const launcher = readJson(at(FILES.launcher));
  launcher.version = id.version;
  launcher.mcpName = id.mcpName;
  launcher.homepage = id.base;
  launcher.repository = { type: "git", url: `git+${id.base}.git` };
  launcher.optionalDependencies = Object.fromEntries(
    platformKeys().map((key) => [`@${id.scope}/${key}`, id.version]),
  );
  out.push([FILES.launcher, `${JSON.stringify(launcher, null, 2)}\n`]);

  const manifest = readJson(at(FILES.manifest));
  manifest.version = id.version;
  manifest.author.url = id.base;
  manifest.repository = { type: "git", url: id.base };
  manifest.homepage = id.base;
  manifest.documentation = `${id.base}#readme`;
  manifest.support = `${id.base}/issues`;
  out.push([FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`]);

  const server = readJson(at(FILES.serverJson));
  server.name = id.mcpName;
  server.version = id.version;
  server.repository = { ...server.repository, url: id.base };
  server.websiteUrl = id.base;
  for (const pkg of server.packages) {
    pkg.version = id.version;
    if (pkg.registryType === "mcpb") pkg.identifier = id.mcpbUrl;
  }
  out.push([FILES.serverJson, `${JSON.stringify(server, null, 2)}\n`]);

  let cargo = readFileSync(at(FILES.cargo), "utf8");
  cargo = cargo.replace(/^(repository|homepage) = "[^"]*"$/gm, `$1 = "${id.base}"`);
  out.push([FILES.cargo, cargo]);

  let readme = readFileSync(at(FILES.readme), "utf8");
  readme = readme
    .replace(/^mcp-name: \S+$/m, `mcp-name: ${id.mcpName}`)
    .replace(/https:\/\/github\.com\/[A-Za-z0-9_.-]+\/kling-omni-mcp\b/g, id.base)
    .replace(/\/releases\/download\/v[0-9][^/\s)]*\/kling-omni-mcp-[0-9][^/\s)]*?\.mcpb/g,
      `/releases/download/v${id.version}/kling-omni-mcp-${id.version}.mcpb`);
  out.push([FILES.readme, readme]);
  return out;
}

function stamp(args) {
  const write = args.includes("--write");
  let drift = 0;
  for (const [file, text] of stamped()) {
    const before = readFileSync(at(file), "utf8");
    const same = file.endsWith(".json")
      ? JSON.stringify(JSON.parse(before)) === JSON.stringify(JSON.parse(text))
      : before === text;
    if (write && before !== text) {
      writeFileSync(at(file), text);
      console.log(`stamped ${file}`);
    } else if (!write && !same) {
      process.stderr.write(`${file} disagrees with Cargo.toml's version or ${FILES.releaseEnv}\n`);
      drift += 1;
    }
  }
  if (drift) die("run `node scripts/packaging.mjs stamp --write` and commit the result");
}

function npmPlatform([key, binary, outdir]) {
  if (!key || !binary || !outdir) die("usage: npm-platform KEY BINARY OUTDIR");
  const entry = readJson(at(FILES.platforms))[key];
  if (!entry || key === "//") die(`unknown platform ${key}`);
  const id = identity();
  const launcher = readJson(at(FILES.launcher));
  mkdirSync(path.join(outdir, "bin"), { recursive: true });
  const target = path.join(outdir, "bin", entry.binary);
  copyFileSync(binary, target);
  chmodSync(target, 0o755);
  writeJson(path.join(outdir, "package.json"), {
    name: `@${id.scope}/${key}`,
    version: id.version,
    description: `The ${key} binary of kling-omni-mcp (${entry.target}); installed by the kling-omni-mcp package`,
    license: launcher.license,
    homepage: id.base,
    repository: launcher.repository,
    os: [entry.os],
    cpu: [entry.cpu],
    files: [`bin/${entry.binary}`, "README.md", "LICENSE-MIT", "LICENSE-APACHE"],
    preferUnplugged: true,
  });
  writeFileSync(path.join(outdir, "README.md"),
    `# @${id.scope}/${key}\n\nThe \`kling-omni-mcp\` binary for ${key} (${entry.target}). ` +
    "Do not install it directly: `npx -y kling-omni-mcp` picks the right one.\n");
}

const BUNDLE_PATHS = {
  darwin: "server/darwin/kling-omni-mcp",
  win32: "server/win32-x64/kling-omni-mcp.exe",
  linux: "server/linux-x64/kling-omni-mcp",
};

function mcpbStage([outdir, ...pairs]) {
  if (!outdir || pairs.length === 0) die("usage: mcpb-stage OUTDIR PLATFORM=BINARY...");
  const manifest = readJson(at(FILES.manifest));
  const overrides = manifest.server.mcp_config.platform_overrides;
  const have = [];
  for (const pair of pairs) {
    const [platform, binary] = pair.split("=");
    const rel = BUNDLE_PATHS[platform];
    if (!rel || !binary) die(`bad PLATFORM=BINARY: ${pair}`);
    if (overrides[platform].command !== `\${__dirname}/${rel}`) {
      die(`${FILES.manifest}: the ${platform} override does not start ${rel}`);
    }
    mkdirSync(path.dirname(path.join(outdir, rel)), { recursive: true });
    copyFileSync(binary, path.join(outdir, rel));
    chmodSync(path.join(outdir, rel), 0o755);
    have.push(platform);
  }
  // A bundle lists only the platforms whose binary it holds; the release bundle holds all three.
  manifest.compatibility.platforms = manifest.compatibility.platforms.filter((p) => have.includes(p));
  for (const platform of Object.keys(overrides)) {
    if (!have.includes(platform)) delete overrides[platform];
  }
  if (!have.includes("darwin")) {
    manifest.server.entry_point = BUNDLE_PATHS[have[0]];
    manifest.server.mcp_config.command = `\${__dirname}/${BUNDLE_PATHS[have[0]]}`;
  }
  writeJson(path.join(outdir, "manifest.json"), manifest);
  for (const file of ["README.md", "LICENSE-MIT", "LICENSE-APACHE"]) {
    copyFileSync(at(file), path.join(outdir, file));
  }
  // The same icon as the server's `serverInfo.icons` (src/server/icon.svg), as the PNG mcpb wants.
  copyFileSync(at("packaging/mcpb/icon.png"), path.join(outdir, manifest.icon));
}

function serverJson([mcpbFile, out]) {
  if (!mcpbFile || !out) die("usage: server-json MCPB_FILE OUT");
  const server = readJson(at(FILES.serverJson));
  const sha = createHash("sha256").update(readFileSync(mcpbFile)).digest("hex");
  for (const pkg of server.packages) {
    if (pkg.registryType === "mcpb") pkg.fileSha256 = sha;
  }
  writeJson(out, server);
}

// The official registry's checks beyond the schema (modelcontextprotocol/registry,
// internal/validators: base URLs, mcpb URLs, fields per package type) and the ownership
// proofs this repository can check offline (npm mcpName, README mcp-name).
function registryRules(server) {
  const errors = [];
  const id = identity();
  const launcher = readJson(at(FILES.launcher));
  if (server.name !== id.mcpName) errors.push(`name is ${server.name}, expected ${id.mcpName}`);
  if (!readFileSync(at(FILES.readme), "utf8").includes(`mcp-name: ${server.name}`)) {
    errors.push(`README.md has no line "mcp-name: ${server.name}" (the crates.io ownership proof)`);
  }
  const bases = { npm: "https://registry.npmjs.org", cargo: "https://crates.io" };
  for (const pkg of server.packages || []) {
    const where = `package ${pkg.registryType}:${pkg.identifier}`;
    if (pkg.registryType in bases) {
      if (pkg.registryBaseUrl && pkg.registryBaseUrl !== bases[pkg.registryType]) {
        errors.push(`${where}: registryBaseUrl must be ${bases[pkg.registryType]}`);
      }
      if (!pkg.version || pkg.version === "latest") errors.push(`${where}: needs an exact version`);
      if (pkg.fileSha256) errors.push(`${where}: fileSha256 is only for mcpb packages`);
    }
    if (pkg.registryType === "npm" && launcher.mcpName !== server.name) {
      errors.push(`${where}: package.json mcpName ${launcher.mcpName} != ${server.name}`);
    }
    if (pkg.registryType === "mcpb") {
      const url = new URL(pkg.identifier);
      if (url.protocol !== "https:") errors.push(`${where}: must be https`);
      if (!["github.com", "gitlab.com"].includes(url.hostname)) errors.push(`${where}: GitHub or GitLab releases only`);
      if (!pkg.identifier.toLowerCase().includes("mcp")) errors.push(`${where}: the URL must contain "mcp"`);
      if (!/^[a-f0-9]{64}$/.test(pkg.fileSha256 || "")) errors.push(`${where}: fileSha256 is required`);
    }
    if (!["npm", "cargo", "mcpb"].includes(pkg.registryType)) errors.push(`${where}: unexpected registryType`);
  }
  const meta = server._meta || {};
  for (const key of Object.keys(meta)) {
    if (key !== "io.modelcontextprotocol.registry/publisher-provided") errors.push(`_meta.${key} would be dropped`);
  }
  return errors;
}

function validateServerJson([schemaFile, ...files]) {
  if (!schemaFile || files.length === 0) die("usage: validate-server-json SCHEMA FILE...");
  const Ajv = requireTool("ajv").default;
  const addFormats = requireTool("ajv-formats").default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(readJson(schemaFile));
  let failed = false;
  for (const file of files) {
    const server = readJson(file);
    const errors = [];
    if (!validate(server)) {
      errors.push(...validate.errors.map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`));
    }
    errors.push(...registryRules(server));
    if (errors.length) {
      failed = true;
      process.stderr.write(`${file}: INVALID\n  ${errors.join("\n  ")}\n`);
    } else {
      console.log(`${file}: valid against ${readJson(schemaFile).$id} and the registry's package rules`);
    }
  }
  if (failed) process.exit(1);
}

async function launchConfig([bundleDir, userConfigJson]) {
  if (!bundleDir || !userConfigJson) die("usage: launch-config BUNDLE_DIR USER_CONFIG_JSON");
  const mcpb = requireTool("@anthropic-ai/mcpb");
  const config = await mcpb.getMcpConfigForManifest({
    manifest: readJson(path.join(bundleDir, "manifest.json")),
    extensionPath: path.resolve(bundleDir),
    systemDirs: {},
    userConfig: JSON.parse(userConfigJson),
    pathSeparator: path.sep,
  });
  if (!config) die("the manifest gave no MCP config (required user_config missing?)");
  console.log(JSON.stringify(config));
}

const [command, ...rest] = process.argv.slice(2);
const commands = {
  stamp,
  "npm-platform": npmPlatform,
  "mcpb-stage": mcpbStage,
  "server-json": serverJson,
  "validate-server-json": validateServerJson,
  "launch-config": launchConfig,
};
if (!commands[command]) die(`unknown command ${command}; see the top of scripts/packaging.mjs`);
await commands[command](rest);
