/**
 * Hostile module zips whose go.sum line is right (a malicious or broken proxy can publish
 * them, and `go mod tidy` would record them): goprefetch must refuse each with the rule it
 * breaks, leave nothing of the module that go would trust, and write nothing outside
 * GOMODCACHE.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { goEnv, makeWritable, tempDir } from "./support/go.ts";
import { type CliRun, runGoprefetch } from "./support/goprefetch.ts";
import { serveProxy } from "./support/proxy_server.ts";
import { type RawEntry, rawZip } from "./support/raw_zip.ts";
import { goModH1, publishRawModule, zipH1 } from "./support/raw_module.ts";
import { listFiles, moduleFiles } from "./support/small_project.ts";

const PATH = "example.com/evil";
const VERSION = "v1.0.0";
const PREFIX = `${PATH}@${VERSION}/`;
const GO_MOD = `module ${PATH}\n\ngo 1.21\n`;
const ZIP_REQUEST = `/${PATH}/@v/${VERSION}.zip`;
/** What may exist under GOMODCACHE after the module is refused (go re-checks all of these). */
const ALLOWED_LEFTOVERS = ["list", ".info", ".mod", ".lock"].map((f) =>
  `cache/download/${PATH}/@v/${f === "list" ? f : VERSION + f}`
);

const encoder = new TextEncoder();
const goModEntry: RawEntry = { name: PREFIX + "go.mod", data: GO_MOD };
const sourceEntry: RawEntry = { name: PREFIX + "evil.go", data: "package evil\n" };

interface Outcome {
  run: CliRun;
  gomodcache: string;
}

/**
 * Publishes a zip made of `entries` as example.com/evil v1.0.0, writes a main module requiring
 * it with go.sum hashes computed for exactly that zip, runs goprefetch on it and checks that
 * nothing escaped: the temp dir, the project and the sandbox around GOMODCACHE hold only what
 * the test put there.
 */
async function prefetchZip(entries: RawEntry[], check: (o: Outcome) => Promise<void>) {
  const tmp = await tempDir("goprefetch-hostile-");
  const home = join(tmp, "home");
  const project = join(tmp, "project");
  const sandbox = join(tmp, "sandbox");
  const gomodcache = join(sandbox, "modcache");
  for (const dir of [home, project, sandbox]) await Deno.mkdir(dir);
  await publishRawModule(join(tmp, "proxy"), PATH, VERSION, GO_MOD, rawZip(entries));
  const goSum = `${PATH} ${VERSION} ${zipH1(entries)}\n` +
    `${PATH} ${VERSION}/go.mod ${goModH1(GO_MOD)}\n`;
  await Deno.writeTextFile(
    join(project, "go.mod"),
    `module example.com/main\n\ngo 1.21\n\nrequire ${PATH} ${VERSION}\n`,
  );
  await Deno.writeTextFile(join(project, "go.sum"), goSum);
  const proxy = await serveProxy(join(tmp, "proxy"));
  try {
    const run = await runGoprefetch(["."], {
      cwd: project,
      env: goEnv({ home, gomodcache, goproxy: proxy.url }),
    });
    assert.ok(proxy.requests.includes(ZIP_REQUEST), `the zip was not fetched:\n${run.stderr}`);
    const top = (await Array.fromAsync(Deno.readDir(tmp))).map((e) => e.name).sort();
    assert.deepEqual(top, ["home", "project", "proxy", "sandbox"]);
    assert.deepEqual(await listFiles(project), ["go.mod", "go.sum"]);
    const aroundCache = (await Array.fromAsync(Deno.readDir(sandbox))).map((e) => e.name);
    assert.deepEqual(aroundCache.filter((n) => n !== "modcache"), []);
    await check({ run, gomodcache });
  } finally {
    await proxy.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The run failed on this module with `problem` in its error line, and left nothing of it. */
async function assertRefused(o: Outcome, problem: string): Promise<void> {
  assert.equal(o.run.code, 1, o.run.stderr);
  const errors = o.run.stderr.split("\n").filter((l) => l.includes("error:"));
  assert.equal(errors.length, 1, o.run.stderr);
  assert.ok(errors[0].includes(`${PATH}@${VERSION}`), errors[0]);
  assert.ok(errors[0].includes(problem), `expected ${JSON.stringify(problem)} in ${errors[0]}`);
  assert.match(
    o.run.stderr,
    /0 fetched, 0 already cached, 0 skipped \(private\/direct\), 1 failed/,
  );
  const files = await moduleFiles(o.gomodcache, PATH, VERSION);
  assert.equal(files.dir, false, "the module directory exists");
  const left = await listFiles(o.gomodcache);
  assert.deepEqual(left.filter((f) => !ALLOWED_LEFTOVERS.includes(f)), [], left.join("\n"));
}

Deno.test("hostile zip harness: a well-formed hand-built zip with a hand-computed go.sum installs", async () => {
  await prefetchZip([goModEntry, sourceEntry], async (o) => {
    assert.equal(o.run.code, 0, o.run.stderr);
    assert.match(
      o.run.stderr,
      /1 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );
    const dir = join(o.gomodcache, `${PATH}@${VERSION}`);
    assert.equal(await Deno.readTextFile(join(dir, "evil.go")), "package evil\n");
    assert.equal(await Deno.readTextFile(join(dir, "go.mod")), GO_MOD);
  });
});

Deno.test("hostile zip: a ../ path escaping the module directory is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "../../../escaped.txt",
    data: "escaped\n",
  }], (o) => assertRefused(o, "(rule invalid-file-path)"));
});

Deno.test("hostile zip: an unclean path a/../../ escaping the module directory is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "a/../../../../escaped.txt",
    data: "escaped\n",
  }], (o) => assertRefused(o, "(rule unclean-path)"));
});

Deno.test("hostile zip: an absolute entry name is refused", async () => {
  const tmpRoot = await Deno.realPath(await tempDir("goprefetch-hostile-target-"));
  try {
    await prefetchZip([goModEntry, sourceEntry, {
      name: join(tmpRoot, "escaped.txt"),
      data: "escaped\n",
    }], (o) => assertRefused(o, "(rule path-prefix)"));
    assert.deepEqual(await listFiles(tmpRoot), []);
  } finally {
    await Deno.remove(tmpRoot, { recursive: true });
  }
});

Deno.test("hostile zip: an absolute path after the module prefix is refused", async () => {
  const tmpRoot = await Deno.realPath(await tempDir("goprefetch-hostile-target-"));
  try {
    await prefetchZip([goModEntry, sourceEntry, {
      name: PREFIX + join(tmpRoot, "escaped.txt"),
      data: "escaped\n",
    }], (o) => assertRefused(o, "(rule invalid-file-path)"));
    assert.deepEqual(await listFiles(tmpRoot), []);
  } finally {
    await Deno.remove(tmpRoot, { recursive: true });
  }
});

Deno.test("hostile zip: an entry outside the module@version/ prefix is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: "example.com/other@v1.0.0/other.go",
    data: "package other\n",
  }], (o) => assertRefused(o, "(rule path-prefix)"));
});

Deno.test("hostile zip: a backslash in a name is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "..\\..\\..\\escaped.txt",
    data: "escaped\n",
  }], (o) => assertRefused(o, "(rule invalid-file-path)"));
});

Deno.test("hostile zip: a symbolic link entry is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "link",
    data: "/etc/passwd",
    externalAttributes: (0o120777 << 16) >>> 0,
  }], (o) => assertRefused(o, "(rule symlink)"));
});

Deno.test("hostile zip: a file entry that appears twice is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "evil.go",
    data: "package evil\n\nfunc Replaced() {}\n",
  }], (o) => assertRefused(o, "(rule duplicate-file)"));
});

Deno.test("hostile zip: two names equal under case folding are refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, { name: PREFIX + "README", data: "upper\n" }, {
    name: PREFIX + "readme",
    data: "lower\n",
  }], (o) => assertRefused(o, "(rule case-collision)"));
});

Deno.test("hostile zip: a path that is both a file and a directory is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, { name: PREFIX + "x", data: "file\n" }, {
    name: PREFIX + "x/y.go",
    data: "package y\n",
  }], (o) => assertRefused(o, "(rule file-dir-collision)"));
});

Deno.test("hostile zip: a go.mod below the module root is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "sub/go.mod",
    data: "module example.com/evil/sub\n",
  }], (o) => assertRefused(o, "(rule go-mod-not-at-root)"));
});

Deno.test("hostile zip: GO.MOD at the module root is refused", async () => {
  await prefetchZip(
    [{ name: PREFIX + "GO.MOD", data: GO_MOD }, sourceEntry],
    (o) => assertRefused(o, "(rule go-mod-case)"),
  );
});

Deno.test("hostile zip: an entry larger than its declared size is refused and cleaned up", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "big.txt",
    data: "A".repeat(64 * 1024),
    uncompressedSize: 16,
  }], (o) => assertRefused(o, "larger than declared"));
});

Deno.test("hostile zip: an entry over 8 MiB larger than its declared size is refused and cleaned up", async () => {
  const declared = 9 * 1024 * 1024;
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "huge.txt",
    data: "A".repeat(declared + 1),
    uncompressedSize: declared,
  }], (o) => assertRefused(o, "larger than declared"));
});

Deno.test("hostile zip: a name that is not valid UTF-8 is refused", async () => {
  const name = new Uint8Array([...encoder.encode(PREFIX), 0xff, 0xfe, ...encoder.encode(".go")]);
  await prefetchZip(
    [goModEntry, sourceEntry, { name, data: "package evil\n" }],
    (o) => assertRefused(o, "(rule invalid-utf8)"),
  );
});

Deno.test("hostile zip: a name with a newline is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "a\nb.go",
    data: "package evil\n",
  }], (o) => assertRefused(o, "(rule invalid-file-path)"));
});

Deno.test("hostile zip: a Windows reserved name (aux.go) is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "aux.go",
    data: "package evil\n",
  }], (o) => assertRefused(o, "(rule invalid-file-path)"));
});
