#!/usr/bin/env node
// Launcher for the native kling-omni-mcp binary. npm installs exactly one of the platform
// packages listed in ../platforms.json (optionalDependencies with `os`/`cpu`); this file finds
// it and runs the binary with the same arguments, stdin, stdout and stderr. It writes nothing
// to stdout itself: on stdio, stdout belongs to the MCP protocol.
"use strict";

// SIGUSR1 makes Node.js open its inspector (a debugger on 127.0.0.1:9229 that runs any code
// sent to it) unless a listener takes the signal over: claim it before anything else. The
// server binary would die of it, so it is not forwarded either. (`--disable-sigusr1` needs
// Node 22.14, and a shebang cannot pass flags.)
try {
  process.on("SIGUSR1", () => {
    process.stderr.write("kling-omni-mcp: SIGUSR1 ignored (the Node.js inspector stays closed)\n");
  });
} catch {
  // No SIGUSR1 on this platform (Windows): nothing to claim.
}

const { spawn } = require("node:child_process");
const os = require("node:os");
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

// Every signal whose default action would end this process and leave the server running
// without its parent: passed on to the server, and this process exits the way it does.
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2", "SIGALRM", "SIGVTALRM",
  "SIGXCPU", "SIGXFSZ", "SIGPWR", "SIGBREAK"];

const child = spawn(binaryPath(), process.argv.slice(2), { stdio: "inherit", windowsHide: true });
for (const signal of FORWARDED) {
  if (!(signal in os.constants.signals)) {
    continue;
  }
  try {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
    });
  } catch {
    // A signal this platform cannot watch: its default action stays.
  }
}
child.on("error", (err) => fail(`could not start ${err.path || "the binary"}: ${err.message}`));
child.on("exit", (code, signal) => {
  if (signal && signal !== "SIGUSR1") {
    // Die of the same signal, so whoever started us sees what happened to the server.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else if (signal) {
    // Re-raising SIGUSR1 would open the inspector instead of ending this process.
    process.exit(128 + os.constants.signals[signal]);
  } else {
    process.exit(code ?? 1);
  }
});
