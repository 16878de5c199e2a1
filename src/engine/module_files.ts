/**
 * Fetching one module version's files into the cache as go writes them: the go.mod checked
 * with go.sum and the version list rewritten, the `.info` in go's canonical bytes, and the zip
 * downloaded and installed under go's version lock.
 *
 * @module
 */
import type { InstallStream } from "../cache/install_pool.ts";
import type { InstallJob, InstallTarget } from "../cache/installer.ts";
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
 * overlaps the go.mod fetch, but no install completes unless the go.mod checked out, as go
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
    const target: InstallTarget = {
      root: ctx.opts.root,
      path: m.path,
      version: m.version,
      zipHashes: m.zipHashes,
      modcacherw: ctx.opts.modcacherw,
      umask: ctx.opts.umask,
    };
    if (state.hasZip) {
      await goMod;
      try {
        installing(ctx, m);
        await ctx.pool.install({ ...target, zip: { kind: "cached", treeInPlace: state.tree } });
        return;
      } catch {
        removeFile(p.base + ".zip");
        removeFile(p.base + ".ziphash");
      }
    }
    await downloadAndInstall(ctx, m, p, record, goMod, target);
  } finally {
    lock.close();
  }
}

/**
 * Downloads the zip and installs it once the go.mod checked out. A big zip's install follows
 * its temp file as it downloads, and is abandoned if the download or the go.mod fails.
 */
async function downloadAndInstall(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
  goMod: Promise<void>,
  target: InstallTarget,
): Promise<void> {
  const stream = ctx.pool.stream(target);
  let body: ZipBody;
  try {
    body = await downloadZip(ctx, m, p, record, stream);
  } catch (e) {
    await stream.abandon();
    throw e;
  }
  const goModOk = await goMod.then(() => true, () => false);
  const streamed = body.kind === "tempFile" && body.file === stream.file;
  try {
    if (ctx.signal.aborted || !goModOk || !streamed) await stream.abandon();
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!goModOk) return;
    installing(ctx, m);
    if (streamed) await stream.finish();
    else await ctx.pool.install({ ...target, zip: zipOf(body) });
  } finally {
    ctx.client.discard(body);
  }
}

function installing(ctx: Context, m: ModuleSums): void {
  ctx.opts.onProgress?.({ type: "install", path: m.path, version: m.version });
}

function zipOf(body: ZipBody): InstallJob["zip"] {
  return body.kind === "bytes"
    ? { kind: "bytes", bytes: body.bytes }
    : { kind: "tempFile", file: body.file };
}

/**
 * Downloads the zip of `m` into memory or a temp file beside its place (which `stream`
 * follows, for a big one), counted in `record`.
 */
async function downloadZip(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
  stream: InstallStream,
): Promise<ZipBody> {
  const tempFile = () => tempName(p.base + ".zip");
  const fetched = await ctx.client.fetchZipTo(m.path, m.version, tempFile, stream, {
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
