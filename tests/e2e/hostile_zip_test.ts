/**
 * Hostile module zips whose go.sum line is right (a malicious or broken proxy can publish
 * them, and `go mod tidy` would record them): goprefetch must refuse each with the rule it
 * breaks, leave nothing of the module that go would trust, and write nothing outside
 * GOMODCACHE.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { goEnv, makeWritable, tempDir } from "../support/go.ts";
import { assertPeakRssBelow, type MeasuredRun, runCliMeasured } from "../support/peak_rss.ts";
import { type Fault, serveProxy } from "../support/proxy_server.ts";
import { type RawEntry, rawZip, type StreamedEntry } from "../support/raw_zip.ts";
import { goModH1, publishRawModule, publishStreamedModule, zipH1 } from "../support/raw_module.ts";
import { MAX_ZIP_FILE } from "../../src/zip/zip_rules.ts";
import { listFiles, moduleFiles } from "../support/small_project.ts";

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
  run: MeasuredRun;
  gomodcache: string;
}

/**
 * Publishes a zip made of `entries` as example.com/evil v1.0.0, with go.sum hashes computed for
 * exactly that zip, and runs goprefetch on it (see {@linkcode prefetchModule}).
 */
function prefetchZip(entries: RawEntry[], check: (o: Outcome) => Promise<void>) {
  return prefetchModule(async (root) => {
    await publishRawModule(root, PATH, VERSION, GO_MOD, rawZip(entries));
    return zipH1(entries);
  }, check);
}

/**
 * Publishes example.com/evil v1.0.0 with `publish` (which returns the zip's go.sum h1), serving
 * its zip through `fault` when given, writes a main module requiring it with that go.sum, runs
 * goprefetch on it and checks that nothing escaped: the temp dir, the project and the sandbox
 * around GOMODCACHE hold only what the test put there.
 */
async function prefetchModule(
  publish: (root: string) => Promise<string>,
  check: (o: Outcome) => Promise<void>,
  fault?: Fault,
) {
  const tmp = await tempDir("goprefetch-hostile-");
  const home = join(tmp, "home");
  const project = join(tmp, "project");
  const sandbox = join(tmp, "sandbox");
  const gomodcache = join(sandbox, "modcache");
  for (const dir of [home, project, sandbox]) await Deno.mkdir(dir);
  const goSum = `${PATH} ${VERSION} ${await publish(join(tmp, "proxy"))}\n` +
    `${PATH} ${VERSION}/go.mod ${goModH1(GO_MOD)}\n`;
  await Deno.writeTextFile(
    join(project, "go.mod"),
    `module example.com/main\n\ngo 1.21\n\nrequire ${PATH} ${VERSION}\n`,
  );
  await Deno.writeTextFile(join(project, "go.sum"), goSum);
  const proxy = await serveProxy(join(tmp, "proxy"), { fault });
  try {
    const run = await runCliMeasured(["."], {
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

const MiB = 1 << 20;
/** Peak RSS allowed for goprefetch refusing the cases below, each of 500 MiB or more. */
const BIG_CASE_RSS = 200 * MiB;
const ZERO_MIB = new Uint8Array(MiB);

/** `mib` MiB of zeros, one shared chunk at a time: deflated once, never held whole. */
function zeros(mib: number): Uint8Array[] {
  return Array(mib).fill(ZERO_MIB);
}

/** Publishes a zip of go.mod, evil.go and `entries` streamed to disk; see {@linkcode prefetchModule}. */
function prefetchStreamed(entries: StreamedEntry[], check: (o: Outcome) => Promise<void>) {
  return prefetchModule(
    (root) =>
      publishStreamedModule(root, PATH, VERSION, GO_MOD, [
        { name: goModEntry.name as string, chunks: [encoder.encode(GO_MOD)] },
        { name: sourceEntry.name as string, chunks: [encoder.encode(sourceEntry.data as string)] },
        ...entries,
      ]),
    check,
  );
}

Deno.test("hostile zip: a 600 MiB zip bomb with honest sizes is refused before inflating", async () => {
  await prefetchStreamed([{ name: PREFIX + "bomb.bin", chunks: zeros(600) }], async (o) => {
    await assertRefused(o, "total uncompressed size of module contents too large");
    assert.ok(o.run.stderr.includes("(rule size-limit)"), o.run.stderr);
    assertPeakRssBelow(o.run, BIG_CASE_RSS, "a 600 MiB bomb");
  });
});

Deno.test("hostile zip: a bomb declaring 4 MiB but holding 600 MiB stops at its declared size", async () => {
  await prefetchStreamed([{
    name: PREFIX + "bomb.bin",
    chunks: zeros(600),
    uncompressedSize: 4 * MiB,
  }], async (o) => {
    await assertRefused(
      o,
      `zip entry "${PREFIX}bomb.bin": uncompressed size is larger than declared (4194304 bytes)`,
    );
    assert.ok(o.run.stderr.includes("must inflate to exactly their declared size"));
    assertPeakRssBelow(o.run, BIG_CASE_RSS, "a lying 600 MiB bomb");
  });
});

Deno.test("hostile zip: 6 entries of 100 MiB, over 500 MiB in total, are refused", async () => {
  const entries = [0, 1, 2, 3, 4, 5].map((i) => ({
    name: `${PREFIX}part${i}.bin`,
    chunks: zeros(100),
  }));
  await prefetchStreamed(entries, async (o) => {
    await assertRefused(o, "total uncompressed size of module contents too large");
    assert.ok(o.run.stderr.includes("(rule size-limit)"), o.run.stderr);
    assertPeakRssBelow(o.run, BIG_CASE_RSS, "600 MiB in 6 entries");
  });
});

Deno.test("hostile zip: an entry smaller than its declared size is refused", async () => {
  await prefetchZip([goModEntry, sourceEntry, {
    name: PREFIX + "short.txt",
    data: "B".repeat(1000),
    uncompressedSize: 2000,
  }], (o) =>
    assertRefused(
      o,
      `zip entry "${PREFIX}short.txt": uncompressed size is smaller than declared ` +
        "(1000 of 2000 bytes): module zip entries must inflate to exactly their declared size",
    ));
});

for (const name of ["go.mod", "LICENSE"]) {
  Deno.test(`hostile zip: a ${name} over 16 MiB is refused`, async () => {
    const padded = GO_MOD + "//" + " ".repeat(16 * MiB);
    const entries = name === "go.mod"
      ? [{ name: PREFIX + "go.mod", data: padded }, sourceEntry]
      : [goModEntry, sourceEntry, { name: PREFIX + "LICENSE", data: padded }];
    await prefetchZip(
      entries,
      (o) =>
        assertRefused(
          o,
          `zip entry "${name}": ${name} file too large (max size is 16777216 bytes) ` +
            "(rule size-limit)",
        ),
    );
  });
}

/**
 * A well-formed zip that go.sum accepts, served after `padding` bytes of zeros (a valid
 * prefix, as for a self-extractor stub), so that only its file size breaks a rule; the body
 * is generated as it is sent. `sent` counts the bytes handed to the connection.
 */
function oversizeZip(padding: number, withLength: boolean) {
  const entries = [goModEntry, sourceEntry];
  const zip = rawZip(entries);
  const served = { sent: 0 };
  const fault: Fault = (_req, path) => {
    if (path !== ZIP_REQUEST) return undefined;
    let left = padding;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = left > 0 ? ZERO_MIB.subarray(0, Math.min(MiB, left)) : zip;
        if (left === 0 && served.sent > padding) return controller.close();
        left -= left > 0 ? chunk.length : 0;
        served.sent += chunk.length;
        controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    const headers: HeadersInit = withLength
      ? { "content-length": String(padding + zip.length) }
      : {};
    return new Response(body, { headers });
  };
  const publish = async (root: string) => {
    await publishRawModule(root, PATH, VERSION, GO_MOD, zip);
    return zipH1(entries);
  };
  return { fault, publish, served };
}

Deno.test("hostile zip: a zip file over 500 MiB with a Content-Length is refused unread", async () => {
  const { fault, publish, served } = oversizeZip(MAX_ZIP_FILE, true);
  await prefetchModule(publish, async (o) => {
    await assertRefused(o, "500 MiB");
    assert.ok(served.sent < 64 * MiB, `${served.sent} bytes of the body were sent`);
    assertPeakRssBelow(o.run, BIG_CASE_RSS, "a zip over 500 MiB with a Content-Length");
  }, fault);
});

Deno.test("hostile zip: a zip file over 500 MiB without a Content-Length is cut at the limit", async () => {
  const { fault, publish, served } = oversizeZip(MAX_ZIP_FILE, false);
  await prefetchModule(publish, async (o) => {
    await assertRefused(o, "500 MiB");
    assert.ok(served.sent >= MAX_ZIP_FILE, `only ${served.sent} bytes were sent`);
    assertPeakRssBelow(o.run, BIG_CASE_RSS, "a chunked zip over 500 MiB");
  }, fault);
});
