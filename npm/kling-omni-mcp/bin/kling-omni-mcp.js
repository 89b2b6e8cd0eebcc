#!/usr/bin/env node
// Launcher for the native kling-omni-mcp binary. npm installs exactly one of the platform
// packages listed in ../platforms.json (optionalDependencies with `os`/`cpu`); this file finds
// it and runs the binary with the same arguments, stdin, stdout and stderr. It writes nothing
// to stdout itself: on stdio, stdout belongs to the MCP protocol.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

const platforms = require("../platforms.json");
const key = `${process.platform}-${process.arch}`;

function fail(message) {
  process.stderr.write(`kling-omni-mcp: ${message}\n`);
  process.exit(3);
}

function binaryPath() {
  if (process.env.KLING_OMNI_MCP_BINARY) {
    return process.env.KLING_OMNI_MCP_BINARY;
  }
  const entry = platforms[key];
  if (!entry || key === "//") {
    const known = Object.keys(platforms).filter((k) => k !== "//").join(", ");
    fail(`no prebuilt binary for ${key} (there are: ${known}). Install from source instead: cargo install kling-omni-mcp`);
  }
  const deps = Object.keys(require("../package.json").optionalDependencies || {});
  const pkg = deps.find((name) => name.endsWith(`/${key}`)) || `${key} platform package`;
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", entry.binary);
  } catch {
    fail(`the package ${pkg} is not installed. It is an optional dependency of kling-omni-mcp; ` +
      "reinstall without --no-optional / --omit=optional (npx -y kling-omni-mcp does this).");
  }
}

const child = spawn(binaryPath(), process.argv.slice(2), { stdio: "inherit", windowsHide: true });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
    }
  });
}
child.on("error", (err) => fail(`could not start ${err.path || "the binary"}: ${err.message}`));
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
