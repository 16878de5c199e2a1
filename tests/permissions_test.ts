/**
 * goprefetch runs without -A: the minimal flags the README documents are enough, and leaving
 * any one out gives one line naming the flag to add, exit 2, before anything is fetched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { missingPermission, permissionErrorMessage } from "../src/permissions.ts";
import { listFiles } from "./support/small_project.ts";
import { makeTinySandbox, runCli, type TinySandbox } from "./support/tiny_sandbox.ts";

/** The minimal flags for a run against `box`'s proxy and cache. */
function minimalFlags(box: TinySandbox): Record<string, string> {
  return {
    net: `--allow-net=${new URL(box.proxy.url).host}`,
    read: "--allow-read",
    write: `--allow-write=${box.gomodcache}`,
    env: "--allow-env",
    sys: "--allow-sys",
  };
}

async function withBox(fn: (box: TinySandbox) => Promise<void>): Promise<void> {
  const box = await makeTinySandbox(3);
  try {
    await fn(box);
  } finally {
    await box.remove();
  }
}

const ONE_LINE = /^goprefetch: needs (--allow-\w+)(=\S+)? \(Requires \w+ access( to "[^"]+")?\)\n$/;

Deno.test("permissions: the minimal flags are enough for a full run", async () => {
  await withBox(async (box) => {
    const flags = Object.values(minimalFlags(box));
    const r = await runCli(["."], { cwd: box.project, env: box.env(), flags });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/);
  });
});

Deno.test("permissions: leaving out any one flag names it in one line, exit 2", async () => {
  await withBox(async (box) => {
    const all = minimalFlags(box);
    const expected: Record<string, string> = {
      net: `--allow-net=${new URL(box.proxy.url).host}`,
      read: `--allow-read=${box.project}`,
      write: `--allow-write=${box.gomodcache}`,
      env: "--allow-env",
      sys: "--allow-sys",
    };
    for (const dropped of Object.keys(all)) {
      const flags = Object.entries(all).filter(([k]) => k !== dropped).map(([, f]) => f);
      const r = await runCli(["."], { cwd: box.project, env: box.env(), flags });
      assert.equal(r.code, 2, `without --allow-${dropped}: ${r.stderr}`);
      const m = r.stderr.match(ONE_LINE);
      assert.ok(m, `without --allow-${dropped}: ${JSON.stringify(r.stderr)}`);
      assert.equal(m[1] + (m[2] ?? ""), expected[dropped]);
      assert.equal(r.stdout, "");
    }
    assert.deepEqual(box.proxy.requests, [], "nothing was fetched");
    assert.deepEqual(await listFiles(box.gomodcache), [], "nothing was written");
  });
});

Deno.test("permissions: a --json file and the step summary must be writable too", async () => {
  await withBox(async (box) => {
    const flags = Object.values(minimalFlags(box));
    const file = join(box.tmp, "report.json");
    const json = await runCli([`--json=${file}`, "."], { cwd: box.project, env: box.env(), flags });
    assert.equal(json.code, 2);
    assert.equal(
      json.stderr,
      `goprefetch: needs --allow-write=${file} (Requires write access to "${file}")\n`,
    );
    const summary = join(box.tmp, "summary.md");
    const env = box.env({ GITHUB_STEP_SUMMARY: summary });
    const r = await runCli(["."], { cwd: box.project, env, flags });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^goprefetch: needs --allow-write=${summary} `));
    assert.deepEqual(box.proxy.requests, []);
  });
});

Deno.test("permissions: a toolchain fetch needs go's sumdb directory writable, named up front", async () => {
  await withBox(async (box) => {
    const flags = Object.values(minimalFlags(box));
    const sumdb = join(box.tmp, "home", "gopath", "pkg", "sumdb");
    const r = await runCli(["--toolchain", "go1.99.1", "."], {
      cwd: box.project,
      env: box.env(),
      flags,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `goprefetch: needs --allow-write=${sumdb} (Requires write access to "${sumdb}")\n`,
    );
    assert.deepEqual(box.proxy.requests, [], "nothing was fetched");
  });
});

Deno.test("permissions: cache-key needs only --allow-read, --allow-env and --allow-sys", async () => {
  await withBox(async (box) => {
    const flags = ["--allow-read", "--allow-env", "--allow-sys"];
    const r = await runCli(["cache-key"], { cwd: box.project, env: box.env(), flags });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    const denied = await runCli(["cache-key"], {
      cwd: box.project,
      env: box.env(),
      flags: ["--allow-env", "--allow-sys"],
    });
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, ONE_LINE);
  });
});

Deno.test("permissions: Deno's permission errors become the one line; others do not", () => {
  const net = new Deno.errors.NotCapable(
    'Requires net access to "proxy.example:443", run again with the --allow-net flag',
  );
  assert.equal(
    permissionErrorMessage(net),
    'needs --allow-net=proxy.example:443 (Requires net access to "proxy.example:443")',
  );
  assert.equal(
    permissionErrorMessage(
      new Deno.errors.NotCapable("Requires env access, run again with the --allow-env flag"),
    ),
    "needs --allow-env (Requires env access)",
  );
  assert.equal(
    permissionErrorMessage(
      new Deno.errors.NotCapable(
        'Requires sys access to "umask", run again with the --allow-sys flag',
      ),
    ),
    'needs --allow-sys (Requires sys access to "umask")',
  );
  assert.equal(
    permissionErrorMessage(new Error("fetching failed", { cause: net })),
    'needs --allow-net=proxy.example:443 (Requires net access to "proxy.example:443")',
  );
  assert.equal(permissionErrorMessage(new Deno.errors.PermissionDenied("EACCES: /x")), undefined);
  assert.equal(permissionErrorMessage(new Error("Requires nothing")), undefined);
  assert.equal(missingPermission([{ name: "read", path: import.meta.dirname! }]), undefined);
});
