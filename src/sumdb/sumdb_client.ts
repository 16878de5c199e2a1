/**
 * A checksum database client, as `golang.org/x/mod/sumdb`'s `Client` is for a lookup: the
 * record comes from the cache or `/lookup`, its signed tree note is checked with the
 * database key and merged with the latest tree known so far (the newer tree must contain
 * the older one), and the record must be in the tree, proven by hash tiles. Only then are
 * the record, the tiles and a newer tree head written back through {@link SumDbOps}.
 *
 * @module
 */
import { sameBytes } from "../util/bytes.ts";
import { openNote, parseVerifierKey, type Verifier } from "./signed_note.ts";
import { escapePath, escapeVersion } from "../module/module_path.ts";
import {
  EMPTY_TREE_HASH,
  parseRecord,
  parseTree,
  recordHash,
  storedHashIndex,
  type Tree,
  treeHash,
} from "./tlog.ts";
import { type Tile, tileHashReader, tilePath, type TileReader } from "./tlog_tile.ts";

/** The outside world the client reads and writes: the database, its tree head, its cache. */
export interface SumDbOps {
  /** The body served at `path` (`/lookup/…` or `/tile/…`) by the database; throws unless 200. */
  readRemote(path: string): Promise<Uint8Array>;
  /** The stored latest signed tree note (`<name>/latest`), empty when there is none. */
  readConfig(file: string): Promise<Uint8Array>;
  /**
   * Replaces the stored note `old` with `next`.
   *
   * @throws {WriteConflictError} when the stored note is no longer `old`.
   */
  writeConfig(file: string, old: Uint8Array, next: Uint8Array): Promise<void>;
  /** A cached lookup or tile (`<name>/lookup/…`, `<name>/tile/…`), or undefined. */
  readCache(file: string): Promise<Uint8Array | undefined>;
  /** Caches a checked lookup or tile; failures are ignored. */
  writeCache(file: string, data: Uint8Array): Promise<void>;
}

/** The stored tree head changed under a compare-and-swap. */
export class WriteConflictError extends Error {
  /** `"WriteConflictError"`. */
  override name = "WriteConflictError";
}

/** The database cannot be trusted: a note, record or tile did not check out. */
export class SumDbVerifyError extends Error {
  /** `"SumDbVerifyError"`. */
  override name = "SumDbVerifyError";
}

/** When a tree note is, relative to the latest tree known. */
type When = "past" | "now" | "future";

/**
 * One client per database key.
 *
 * @example
 * ```ts
 * const client = new SumDbClient("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", ops);
 * const lines = await client.lookup("golang.org/toolchain", "v0.0.1-go1.22.3.linux-amd64");
 * ```
 */
export class SumDbClient {
  #ops: SumDbOps;
  #verifier: Verifier;
  #init?: Promise<void>;
  #latest: Tree = { n: 0, hash: EMPTY_TREE_HASH };
  #latestMsg: Uint8Array = new Uint8Array();
  #records = new Map<string, Promise<Uint8Array>>();
  #tiles = new Map<string, Promise<Uint8Array>>();
  #saved = new Set<string>();
  #tileReader: TileReader;

  /**
   * @throws {SignedNoteError} when `key` is not a verifier key.
   */
  constructor(key: string, ops: SumDbOps) {
    this.#ops = ops;
    this.#verifier = parseVerifierKey(key);
    this.#tileReader = {
      height: 8,
      readTiles: (tiles) => Promise.all(tiles.map((t) => this.#readTile(t))),
      saveTiles: (tiles, data) => this.#saveTiles(tiles, data),
    };
  }

  /** The database name, from its key. */
  get name(): string {
    return this.#verifier.name;
  }

  /**
   * The database's go.sum lines for `path` at `version` (which may end in `/go.mod`),
   * after the checks the module comment describes.
   *
   * @throws {Error} when the record cannot be fetched or does not check out.
   */
  async lookup(path: string, version: string): Promise<string[]> {
    this.#init ??= this.#ops.readConfig(`${this.name}/latest`).then((m) => this.#mergeLatest(m));
    await this.#init;
    const remotePath = `/lookup/${escapePath(path)}@${
      escapeVersion(version.replace(/\/go\.mod$/, ""))
    }`;
    const file = this.name + remotePath;
    let record = this.#records.get(file);
    if (record === undefined) {
      record = this.#fetchRecord(file, remotePath);
      this.#records.set(file, record);
    }
    const text = new TextDecoder().decode(await record);
    const prefix = `${path} ${version} `;
    return text.split("\n").filter((line) => line.startsWith(prefix));
  }

  async #fetchRecord(file: string, remotePath: string): Promise<Uint8Array> {
    const cached = await this.#ops.readCache(file);
    const data = cached ?? await this.#ops.readRemote(remotePath);
    const { id, text, rest } = parseRecord(data);
    await this.#mergeLatest(rest);
    await this.#checkRecord(id, text);
    if (cached === undefined) await this.#ops.writeCache(file, data);
    return text;
  }

  /** Merges `msg` into the latest tree, writing it back when it moved forward. */
  async #mergeLatest(msg: Uint8Array): Promise<void> {
    if (await this.#mergeLatestMem(msg) !== "future") return;
    for (;;) {
      const stored = await this.#ops.readConfig(`${this.name}/latest`);
      if (await this.#mergeLatestMem(stored) !== "past") return;
      try {
        await this.#ops.writeConfig(`${this.name}/latest`, stored, this.#latestMsg);
        return;
      } catch (e) {
        if (!(e instanceof WriteConflictError)) throw e;
      }
    }
  }

  async #mergeLatestMem(msg: Uint8Array): Promise<When> {
    if (msg.length === 0) return this.#latest.n === 0 ? "now" : "past";
    let tree: Tree;
    try {
      tree = parseTree(await openNote(msg, this.#verifier));
    } catch (e) {
      throw new SumDbVerifyError(`reading tree note: ${(e as Error).message}`);
    }
    for (;;) {
      const latest = this.#latest;
      const latestMsg = this.#latestMsg;
      if (tree.n <= latest.n) {
        await this.#checkTrees(tree, msg, latest, latestMsg);
        return tree.n < latest.n ? "past" : "now";
      }
      await this.#checkTrees(latest, latestMsg, tree, msg);
      if (this.#latest === latest) {
        this.#latest = tree;
        this.#latestMsg = msg;
        return "future";
      }
    }
  }

  /** Checks that `older` is a prefix of `newer`, with `newer`'s tiles. */
  async #checkTrees(
    older: Tree,
    olderMsg: Uint8Array,
    newer: Tree,
    newerMsg: Uint8Array,
  ): Promise<void> {
    let h: Uint8Array;
    try {
      h = await treeHash(older.n, tileHashReader(newer, this.#tileReader));
    } catch (e) {
      const against = older.n === newer.n ? "" : ` against tree#${newer.n}`;
      throw new SumDbVerifyError(`checking tree#${older.n}${against}: ${(e as Error).message}`);
    }
    if (sameBytes(h, older.hash)) return;
    const indent = (m: Uint8Array) => new TextDecoder().decode(m).replaceAll("\n", "\n\t");
    throw new SumDbVerifyError(
      `security error: the checksum database misbehaves: its tree of ${newer.n} records ` +
        `does not contain its earlier tree of ${older.n} records\n` +
        `old database:\n\t${indent(olderMsg)}\nnew database:\n\t${indent(newerMsg)}`,
    );
  }

  /** Checks that record `id`'s hash in the latest tree is the hash of `text`. */
  async #checkRecord(id: number, text: Uint8Array): Promise<void> {
    const latest = this.#latest;
    if (id >= latest.n) {
      throw new SumDbVerifyError(`cannot validate record ${id} in tree of size ${latest.n}`);
    }
    let hashes: Uint8Array[];
    try {
      hashes = await tileHashReader(latest, this.#tileReader)([storedHashIndex(0, id)]);
    } catch (e) {
      throw new SumDbVerifyError((e as Error).message);
    }
    if (!sameBytes(hashes[0], recordHash(text))) {
      throw new SumDbVerifyError("cannot authenticate record data in server response");
    }
  }

  #readTile(tile: Tile): Promise<Uint8Array> {
    const key = tilePath(tile);
    let data = this.#tiles.get(key);
    if (data === undefined) {
      data = this.#loadTile(tile);
      this.#tiles.set(key, data);
    }
    return data;
  }

  /** The tile from the cache, else the full tile's prefix from the cache, else the server. */
  async #loadTile(tile: Tile): Promise<Uint8Array> {
    const cached = await this.#ops.readCache(`${this.name}/${tilePath(tile)}`);
    if (cached !== undefined) {
      this.#saved.add(tilePath(tile));
      return cached;
    }
    const full: Tile = { ...tile, w: 2 ** tile.h };
    const prefix = (data: Uint8Array) =>
      data.subarray(0, Math.floor(data.length / full.w) * tile.w);
    if (full.w !== tile.w) {
      const cachedFull = await this.#ops.readCache(`${this.name}/${tilePath(full)}`);
      if (cachedFull !== undefined) {
        this.#saved.add(tilePath(tile));
        return prefix(cachedFull);
      }
    }
    try {
      return await this.#ops.readRemote(`/${tilePath(tile)}`);
    } catch (e) {
      if (full.w === tile.w) throw e;
      return prefix(
        await this.#ops.readRemote(`/${tilePath(full)}`).catch(() => {
          throw e;
        }),
      );
    }
  }

  async #saveTiles(tiles: Tile[], data: Uint8Array[]): Promise<void> {
    for (const [i, tile] of tiles.entries()) {
      const key = tilePath(tile);
      if (this.#saved.has(key)) continue;
      this.#saved.add(key);
      await this.#ops.writeCache(`${this.name}/${key}`, data[i]);
    }
  }
}
