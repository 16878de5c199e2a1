/**
 * Fetching one module version's files into the cache as go writes them: the go.mod checked
 * with go.sum and the version list rewritten, the `.info` in go's canonical bytes, and the zip
 * downloaded and installed under go's version lock.
 *
 * @module
 */
import { downloadedZip, type InstallJob } from "../cache/installer.ts";
import {
  lockVersion,
  type ModulePaths,
  readCacheState,
  rewriteVersionList,
  writeFileAtomic,
  zipComplete,
} from "../cache/module_cache.ts";
import type { Fetched, ZipBody } from "../goproxy/goproxy.ts";
import { canonicalInfo } from "../goproxy/info.ts";
import { ModuleError } from "../module/module_error.ts";
import type { ModuleVersion } from "../project/go_mod.ts";
import type { ModuleSums } from "../project/gosum.ts";
import { removeFile, tempName } from "../util/files.ts";
import { hashGoMod } from "../zip/dirhash.ts";
import type { Context } from "./pipeline_context.ts";
import type { ModuleRecord } from "./report.ts";

export async function fetchGoMod(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
): Promise<void> {
  const got = count(
    record,
    await ctx.client.fetchSmall(m.path, m.version, "mod", { signal: ctx.signal }),
  );
  const h = hashGoMod(got);
  if (m.goModHashes.length > 0 && !m.goModHashes.includes(h)) {
    throw new ModuleError(
      m.path,
      m.version,
      `go.mod checksum mismatch: the proxy's go.mod has ${h}, ` +
        `go.sum has ${m.goModHashes.join(" or ")}; nothing was written to the cache.`,
    );
  }
  writeFileAtomic(p.base + ".mod", got, ctx.opts.umask);
  await ctx.files.run(() => rewriteVersionList(p.atV, ctx.opts.umask));
}

export async function fetchInfo(
  ctx: Context,
  m: ModuleVersion,
  p: ModulePaths,
  record: Tally,
  background = false,
): Promise<void> {
  const fetched = await ctx.client.fetchSmall(m.path, m.version, "info", {
    background,
    signal: ctx.signal,
  });
  const info = canonicalInfo(count(record, fetched), m.version);
  writeFileAtomic(p.base + ".info", info, ctx.opts.umask);
}

/**
 * Under go's version lock: re-check, then install from a cached zip when there is one and it
 * matches go.sum, else download and install. A cached zip beside a tree that lacks only a
 * well-formed `.ziphash` is hashed, not extracted again, as go's `hashZip` does. The download
 * overlaps the go.mod fetch, but nothing is installed unless the go.mod checked out, as go
 * checks it first.
 */
export async function fetchAndInstallZip(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
  goMod: Promise<void>,
): Promise<void> {
  const lock = await lockVersion(p, ctx.opts.umask);
  try {
    const state = readCacheState(p);
    if (zipComplete(state)) return;
    const job: InstallJob = {
      root: ctx.opts.root,
      path: m.path,
      version: m.version,
      zipHashes: m.zipHashes,
      modcacherw: ctx.opts.modcacherw,
      umask: ctx.opts.umask,
      zip: { kind: "cached", treeInPlace: state.tree },
    };
    const installing = () =>
      ctx.opts.onProgress?.({ type: "install", path: m.path, version: m.version });
    if (state.hasZip) {
      await goMod;
      try {
        installing();
        await ctx.pool.install(job);
        return;
      } catch {
        removeFile(p.base + ".zip");
        removeFile(p.base + ".ziphash");
      }
    }
    const body = await downloadZip(ctx, m, p, record);
    const goModOk = await goMod.then(() => true, () => false);
    if (ctx.signal.aborted || !goModOk) {
      ctx.client.discard(body);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return;
    }
    job.zip = downloadedZip(body);
    try {
      installing();
      await ctx.pool.install(job);
    } finally {
      ctx.client.discard(body);
    }
  } finally {
    lock.close();
  }
}

/** Downloads the zip of `m` into memory or a temp file beside its place, counted in `record`. */
async function downloadZip(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
): Promise<ZipBody> {
  const fetched = await ctx.client.fetchZip(m.path, m.version, () => tempName(p.base + ".zip"), {
    signal: ctx.signal,
  });
  record.proxy = fetched.proxy;
  record.retries += fetched.retries;
  const body = fetched.body;
  record.bytes += body.kind === "bytes" ? body.bytes.length : body.size;
  return body;
}

/** What a module's record, or the build list's report, adds up from its requests. */
export type Tally = Pick<ModuleRecord, "bytes" | "retries" | "proxy">;

function count(record: Tally, fetched: Fetched<Uint8Array>): Uint8Array {
  record.bytes += fetched.body.length;
  record.retries += fetched.retries;
  record.proxy ??= fetched.proxy;
  return fetched.body;
}
