// The github-script stand-in (see action.yml). No dependencies: Node 20's fetch.
"use strict";
const fs = require("fs");
const os = require("os");

const input = (name) => process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "";

function appendFileCommand(file, key, value) {
  const delimiter = `ghadelimiter_${Math.random().toString(36).slice(2)}`;
  fs.appendFileSync(file, `${key}<<${delimiter}${os.EOL}${value}${os.EOL}${delimiter}${os.EOL}`);
}

const core = {
  getInput: (name) => input(name).trim(),
  setOutput: (key, value) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    appendFileCommand(process.env.GITHUB_OUTPUT, key, text);
  },
  exportVariable: (key, value) => {
    process.env[key] = value;
    appendFileCommand(process.env.GITHUB_ENV, key, value);
  },
  setFailed: (message) => {
    process.exitCode = 1;
    console.log(`::error::${message}`);
  },
  info: (message) => console.log(message),
  warning: (message) => console.log(`::warning::${message}`),
  error: (message) => console.log(`::error::${message}`),
};

function readContext() {
  const path = process.env.GITHUB_EVENT_PATH;
  const payload = path ? JSON.parse(fs.readFileSync(path, "utf8")) : {};
  const [owner, repo] = (process.env.GITHUB_REPOSITORY || "/").split("/");
  return {
    payload,
    eventName: process.env.GITHUB_EVENT_NAME,
    sha: process.env.GITHUB_SHA,
    ref: process.env.GITHUB_REF,
    workflow: process.env.GITHUB_WORKFLOW,
    job: process.env.GITHUB_JOB,
    actor: process.env.GITHUB_ACTOR,
    apiUrl: process.env.GITHUB_API_URL,
    serverUrl: process.env.GITHUB_SERVER_URL,
    repo: { owner, repo },
    issue: { owner, repo, number: (payload.issue || payload.pull_request || payload).number },
  };
}

function nextLink(headers) {
  const match = /<([^>]+)>;\s*rel="next"/.exec(headers.get("link") || "");
  return match ? match[1] : null;
}

function restClient(token, apiUrl) {
  async function send(method, url, body) {
    const init = {
      method,
      headers: {
        accept: "application/vnd.github+json",
        authorization: `token ${token}`,
        "user-agent": input("user-agent"),
      },
    };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    if (response.status >= 400) {
      const error = new Error(`${method} ${new URL(url).pathname}: HTTP ${response.status} ${text}`);
      error.status = response.status;
      throw error;
    }
    return { status: response.status, url, headers: response.headers, data: text ? JSON.parse(text) : null };
  }
  // "GET /repos/{owner}/{repo}/..." with params: placeholders filled, the rest as query or body.
  function request(route, params = {}) {
    const [method, template] = route.includes(" ") ? route.split(" ") : ["GET", route];
    const rest = { ...params };
    const path = template.replace(/\{(\w+)\}/g, (_, key) => {
      const value = rest[key];
      delete rest[key];
      return encodeURIComponent(value);
    });
    const url = new URL(apiUrl.replace(/\/$/, "") + path);
    if (method === "GET") {
      for (const [key, value] of Object.entries(rest)) url.searchParams.set(key, value);
      return send(method, url.href);
    }
    return send(method, url.href, rest);
  }
  const endpoint = (route) => {
    const call = (params) => request(route, params);
    call.route = route;
    return call;
  };
  const comments = "/repos/{owner}/{repo}/issues/{issue_number}/comments";
  const comment = "/repos/{owner}/{repo}/issues/comments/{comment_id}";
  return {
    request,
    // Every page, following the Link headers as Octokit's paginate does.
    paginate: async (method, params = {}) => {
      const items = [];
      let response = await method(params);
      for (;;) {
        items.push(...response.data);
        const next = nextLink(response.headers);
        if (!next) return items;
        response = await send("GET", next);
      }
    },
    rest: {
      issues: {
        listComments: endpoint(`GET ${comments}`),
        createComment: endpoint(`POST ${comments}`),
        getComment: endpoint(`GET ${comment}`),
        updateComment: endpoint(`PATCH ${comment}`),
        deleteComment: endpoint(`DELETE ${comment}`),
      },
    },
  };
}

async function main() {
  const context = readContext();
  const github = restClient(input("github-token"), context.apiUrl);
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const script = new AsyncFunction("require", "github", "context", "core", "fetch", input("script"));
  const result = await script(require, github, context, core, fetch);
  const encoded = input("result-encoding") === "string" ? String(result ?? "") : JSON.stringify(result ?? null);
  core.setOutput("result", encoded);
}

main().catch((error) => core.setFailed(`Unhandled error: ${error.stack || error}`));
