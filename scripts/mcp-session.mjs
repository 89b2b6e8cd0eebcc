#!/usr/bin/env node
// Drives one MCP session over stdio the way a client does, against a command started exactly as
// given (with this process's environment), and fails on anything a client would trip over:
//   initialize → notifications/initialized → tools/list (the three tools) → tools/call
//   generate_video {prompt, aspect_ratio: "16:9"} → get_video_task {task_id, wait_seconds} until
//   `succeed` → stdin closed → the server exits 0.
// Every line on the server's stdout must be a JSON-RPC message. With --secret VALUE, VALUE must
// appear nowhere on stdout or stderr, nor on the server's command line; on Linux, when the server
// is the process started here (--expect-secret-in-env), it must be in that process's environment.
// With --launch FILE (JSON {command, args, env}, e.g. what an MCP bundle's manifest resolves to),
// the server is FILE's command with FILE's args, then ARGS, and FILE's env over this one's.
//   node scripts/mcp-session.mjs [--secret VALUE [--expect-secret-in-env]] -- COMMAND ARGS...
//   node scripts/mcp-session.mjs --launch FILE [--secret VALUE ...] -- [EXTRA ARGS...]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const options = split < 0 ? argv : argv.slice(0, split);
const option = (name) => (options.includes(name) ? options[options.indexOf(name) + 1] : null);
let [command, ...args] = split < 0 ? [] : argv.slice(split + 1);
let env = process.env;
if (option("--launch")) {
  const launch = JSON.parse(readFileSync(option("--launch"), "utf8"));
  args = [...(launch.args || []), ...(command === undefined ? [] : [command]), ...args];
  command = launch.command;
  env = { ...process.env, ...(launch.env || {}) };
}
if (!command) {
  process.stderr.write("usage: mcp-session.mjs [--launch FILE] [--secret VALUE [--expect-secret-in-env]] -- COMMAND ARGS...\n");
  process.exit(2);
}
const secret = option("--secret");
const expectSecretInEnv = options.includes("--expect-secret-in-env");

const log = (message) => process.stderr.write(`[mcp-session] ${message}\n`);
let server;
let stderrText = "";
const fail = (message) => {
  log(`FAIL: ${message}`);
  if (stderrText) log(`server stderr (last 2000 chars):\n${stderrText.slice(-2000)}`);
  if (server && server.exitCode === null) server.kill("SIGKILL");
  process.exit(1);
};
const overall = setTimeout(() => fail("the session took longer than 120 s"), 120_000);

log(`starting ${command} ${args.join(" ")}`);
server = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env });
server.on("error", (err) => fail(`could not start ${command}: ${err.message}`));
server.stderr.setEncoding("utf8");
server.stderr.on("data", (chunk) => {
  stderrText += chunk;
});

const pending = new Map();
let buffer = "";
let stdoutText = "";
server.stdout.setEncoding("utf8");
server.stdout.on("data", (chunk) => {
  stdoutText += chunk;
  buffer += chunk;
  let newline;
  while ((newline = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, newline).replace(/\r$/, "");
    buffer = buffer.slice(newline + 1);
    if (line.trim() === "") continue;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      fail(`a line on stdout is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
    }
    if (message.jsonrpc !== "2.0") fail(`not a JSON-RPC 2.0 message: ${line.slice(0, 200)}`);
    if (message.id !== undefined && pending.has(message.id) && !message.method) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    } else if (message.method && message.id !== undefined) {
      // A request from the server (e.g. roots/list, ping): answer it like a minimal client.
      const result = message.method === "roots/list" ? { roots: [] } : {};
      server.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: message.id, result })}\n`);
    }
  }
});

let nextId = 1;
function request(method, params) {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, (message) => {
      if (message.error) fail(`${method} failed: ${JSON.stringify(message.error)}`);
      resolve(message.result);
    });
    server.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
  });
}
const notify = (method, params) =>
  server.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method, ...(params ? { params } : {}) })}\n`);

async function callTool(name, args) {
  const result = await request("tools/call", { name, arguments: args });
  if (result.isError) fail(`${name} returned an error: ${JSON.stringify(result.content)}`);
  if (!result.structuredContent) fail(`${name} returned no structuredContent`);
  return result.structuredContent;
}

const init = await request("initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "kling-omni-mcp-packaging-check", version: "1" },
});
log(`initialize: ${init.serverInfo.name} ${init.serverInfo.version}, protocol ${init.protocolVersion}`);
notify("notifications/initialized");

const tools = (await request("tools/list", {})).tools.map((t) => t.name);
for (const name of ["generate_video", "get_video_task", "list_video_tasks", "get_balance"]) {
  if (!tools.includes(name)) fail(`tools/list lacks ${name}: ${tools.join(", ")}`);
}
log(`tools/list: ${tools.join(", ")}`);

const created = await callTool("generate_video", {
  prompt: "A paper boat drifts down a rainy street",
  aspect_ratio: "16:9",
});
if (typeof created.task_id !== "string") fail(`generate_video gave no task_id: ${JSON.stringify(created)}`);
log(`generate_video: task ${created.task_id}, ${created.status}`);

let status = created.status;
for (let round = 0; round < 10 && status !== "succeed"; round++) {
  const task = await callTool("get_video_task", { task_id: created.task_id, wait_seconds: 15 });
  status = task.status;
  log(`get_video_task: ${status}${task.videos ? `, ${task.videos.length} video(s)` : ""}`);
  if (status === "failed") fail(`the task failed: ${JSON.stringify(task)}`);
  if (status === "succeed" && !(task.videos || []).every((v) => typeof v.url === "string")) {
    fail(`a finished task without video URLs: ${JSON.stringify(task)}`);
  }
}
if (status !== "succeed") fail(`the task did not reach succeed (last: ${status})`);

if (secret) {
  if (process.platform === "linux" && server.pid) {
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8");
    if (cmdline.includes(secret)) fail("the secret is on the server's command line");
    if (expectSecretInEnv) {
      const environ = readFileSync(`/proc/${server.pid}/environ`, "utf8").split("\0");
      if (!environ.some((kv) => kv.endsWith(`=${secret}`))) fail("the secret is not in the server's environment");
      log("the secret is in the server's environment and not on its command line");
    }
  }
}

server.stdin.end();
const code = await new Promise((resolve) => {
  const timer = setTimeout(() => fail("the server did not exit within 15 s of stdin closing"), 15_000);
  server.on("exit", (exitCode, signal) => {
    clearTimeout(timer);
    resolve(signal ? `signal ${signal}` : exitCode);
  });
});
if (code !== 0) fail(`the server exited with ${code}`);
if (secret && (stdoutText.includes(secret) || stderrText.includes(secret))) {
  fail("the secret appeared on the server's stdout or stderr");
}
clearTimeout(overall);
log(`PASS: initialize, tools/list, generate_video, get_video_task → succeed; clean exit${secret ? "; secret not shown" : ""}`);
