/**
 * goprefetch runs without -A: the minimal flags the README documents are enough, and leaving
 * any out gives one line naming every flag to add, exit 2, before anything is fetched, and
 * never a prompt, even on a terminal. A GOPROXY that only $GOROOT/go.env would set says why
 * it is missing.
 */
import { type TinySandbox, withTinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { prefetch } from "../../mod.ts";
import { testHost } from "../support/host.ts";
import { runPrefetch } from "../../src/engine/prefetch.ts";
import { SetupError } from "../../src/engine/setup.ts";
import { missingPermission, permissionErrorMessage } from "../../src/cli/permissions.ts";
import { canCheck } from "../support/platform.ts";
import { listFiles } from "../support/small_project.ts";
import { runCli } from "../support/cli.ts";

/** goprefetch's sources, which its Web Workers load. */
const SRC = join(import.meta.dirname!, "..", "..", "src");

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

const ONE_LINE =
  /^goprefetch: needs (--allow-\w+)(=\S+)? \(Requires [\w ,]+ access( to "[^"]+")?\)\n$/;

Deno.test("permissions: the minimal flags are enough for a full run", async () => {
  await withTinySandbox(3, async (box) => {
    const flags = Object.values(minimalFlags(box));
    const r = await runCli(["."], { cwd: box.project, env: box.env(), flags });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/);
  });
});

Deno.test("permissions: run from a URL, as from JSR, the workers need --allow-import, not --allow-net", async () => {
  const root = join(import.meta.dirname!, "..", "..");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const rel = decodeURIComponent(new URL(req.url).pathname);
    if (rel.includes("..") || !/^\/(cli|mod)\.ts$|^\/src\/\w+\/\w+\.ts$/.test(rel)) {
      return new Response("not found", { status: 404 });
    }
    const body = await Deno.readFile(join(root, rel)).catch(() => null);
    return body
      ? new Response(body, { headers: { "content-type": "application/typescript" } })
      : new Response("not found", { status: 404 });
  });
  try {
    await withTinySandbox(3, async (box) => {
      const origin = `127.0.0.1:${server.addr.port}`;
      const flags = [...Object.values(minimalFlags(box)), `--allow-import=${origin}`];
      const r = await runCli(["."], {
        cwd: box.project,
        env: box.env({ DENO_DIR: join(box.tmp, "deno") }),
        flags,
        entry: `http://${origin}/cli.ts`,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /3 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
      );
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("permissions: leaving out any one flag names it, scoped, in one line, exit 2", async () => {
  await withTinySandbox(3, async (box) => {
    const all = minimalFlags(box);
    const expected: Record<string, string> = {
      net: `--allow-net=${new URL(box.proxy.url).host}`,
      read: `--allow-read=${box.project},${box.gomodcache},${SRC}`,
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
  await withTinySandbox(3, async (box) => {
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
  await withTinySandbox(3, async (box) => {
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
  await withTinySandbox(3, async (box) => {
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

Deno.test("permissions: with no flags, every one is named in one message, and never a prompt", async () => {
  await withTinySandbox(3, async (box) => {
    const expected = `goprefetch: needs --allow-env --allow-sys --allow-read=${box.project} ` +
      "--allow-write --allow-net (Requires env, sys, read, write and net access)";
    const plain = await runCli(["."], { cwd: box.project, env: box.env(), flags: [] });
    assert.equal(plain.code, 2);
    assert.equal(plain.stderr, expected + "\n");
    if (canCheck("pseudo-terminal", "the same runs on a terminal (no prompt)")) {
      for (const args of [["."], ["verify"], ["cache-key"], ["--dry-run", "."]]) {
        const tty = await runCli(args, { cwd: box.project, env: box.env(), flags: [], pty: true });
        assert.equal(tty.code, 2, `${args}: ${tty.stdout}`);
        assert.doesNotMatch(tty.stdout, /Allow\?|requests? \w+ access|\[y\/n/i, `${args}`);
        assert.match(tty.stdout, /^goprefetch: needs --allow-env --allow-sys --allow-read=/);
        assert.equal(tty.stdout.trimEnd().split("\n").length, 1, tty.stdout);
      }
      const scoped = await runCli(["."], {
        cwd: box.project,
        env: box.env(),
        flags: ["--allow-env", "--allow-read=/nowhere"],
        pty: true,
      });
      assert.equal(scoped.code, 2);
      assert.equal(
        scoped.stdout.replaceAll("\r\n", "\n"),
        `goprefetch: needs --allow-sys --allow-read=${box.project},${box.gomodcache},${SRC} ` +
          `--allow-write=${box.gomodcache} --allow-net=${new URL(box.proxy.url).host} ` +
          "(Requires sys, read, write and net access)\n",
      );
    }
    assert.deepEqual(box.proxy.requests, []);
  });
});

/** A GOROOT whose go.env sets GOPROXY to `box`'s proxy, and `box`'s env without GOPROXY. */
async function gorootFor(
  box: TinySandbox,
): Promise<{ goEnv: string; env: Record<string, string> }> {
  const goroot = join(box.tmp, "goroot");
  await Deno.mkdir(goroot);
  const goEnv = join(goroot, "go.env");
  await Deno.writeTextFile(goEnv, `GOPROXY=${box.proxy.url}\n`);
  return { goEnv, env: box.env({ GOROOT: goroot, GOPROXY: "" }) };
}

Deno.test("permissions: a scoped --allow-read that leaves out $GOROOT/go.env names it, on a terminal too", async () => {
  await withTinySandbox(3, async (box) => {
    const { goEnv, env } = await gorootFor(box);
    const flags = [
      ...Object.values(minimalFlags(box)).filter((f) => f !== "--allow-read"),
      `--allow-read=${box.project},${box.gomodcache},${box.tmp}/home`,
    ];
    for (const pty of [false, true]) {
      const r = await runCli(["."], { cwd: box.project, env, flags, pty });
      assert.equal(r.code, 2);
      assert.equal(
        pty ? r.stdout.replaceAll("\r\n", "\n") : r.stderr,
        `goprefetch: needs --allow-read=${goEnv},${SRC} (Requires read access)\n`,
      );
    }
    const ok = await runCli(["-q", "."], {
      cwd: box.project,
      env,
      flags: [
        ...flags.slice(0, -1),
        `--allow-read=${box.project},${box.gomodcache},${goEnv},${SRC}`,
      ],
    });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

Deno.test("permissions: an empty GOPROXY says what is missing: go on PATH, or reading go.env", async () => {
  await withTinySandbox(3, async (box) => {
    const noGo = await runCli(["."], {
      cwd: box.project,
      env: box.env({ GOPROXY: "", PATH: join(box.tmp, "bin") }),
    });
    assert.equal(noGo.code, 2);
    assert.equal(
      noGo.stderr,
      "goprefetch: GOPROXY is not set, and there is no go command on PATH whose $GOROOT/go.env " +
        "would set it: set GOPROXY (for example GOPROXY=https://proxy.golang.org,direct), or " +
        "GOROOT to a Go installation, or pass --proxy\n",
    );

    const { goEnv, env } = await gorootFor(box);
    const host = { ...testHost(env, box.project), mayRead: (path: string) => path !== goEnv };
    const hidden = {
      ...host,
      readTextFile: (p: string) => p === goEnv ? undefined : Deno.readTextFileSync(p),
    };
    await assert.rejects(
      () => runPrefetch({}, hidden),
      new SetupError(
        `GOPROXY is not set, and Deno's --allow-read leaves out ${goEnv} ($GOROOT/go.env), ` +
          `which sets it: add --allow-read=${goEnv}, or set GOPROXY`,
      ),
    );
    const bin = join(box.tmp, "bin");
    const hiddenGo = {
      ...testHost(box.env({ GOPROXY: "", PATH: bin }), box.project),
      mayRead: (p: string) => dirname(p) !== bin,
    };
    await assert.rejects(
      () => runPrefetch({}, hiddenGo),
      new SetupError(
        "GOPROXY is not set, and Deno's --allow-read leaves out the go command on PATH whose " +
          `$GOROOT/go.env would set it: add --allow-read=${bin}, or set GOPROXY`,
      ),
    );
    await Deno.writeTextFile(goEnv, "GOSUMDB=off\n");
    await assert.rejects(
      () => prefetch({ dir: box.project, env: { GOPROXY: "", GOROOT: dirname(goEnv) } }),
      new SetupError(
        `GOPROXY is not set, and ${goEnv} ($GOROOT/go.env) does not set it: set GOPROXY ` +
          "(for example GOPROXY=https://proxy.golang.org,direct) or pass --proxy",
      ),
    );
    assert.deepEqual(box.proxy.requests, []);
  });
});
