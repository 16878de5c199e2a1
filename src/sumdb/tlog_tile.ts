/**
 * Hash tiles of a transparency log, as `golang.org/x/mod/sumdb/tlog` lays them out: tile
 * coordinates and their `tile/H/L/NNN[.p/W]` paths, and a hash reader that fetches the
 * tiles a set of hashes needs and authenticates every one of them against a signed tree
 * before trusting any hash in them.
 *
 * @module
 */
import { sameBytes } from "../util/bytes.ts";
import {
  type Hash,
  HASH_SIZE,
  type HashReader,
  nodeHash,
  shl,
  shr,
  splitStoredHashIndex,
  storedHashIndex,
  subTreeIndex,
  type Tree,
} from "./tlog.ts";

/**
 * A tile: `w` consecutive hashes at level `h * l` of the tree, starting at hash `n * 2^h` of
 * that level. A complete tile has `2^h` hashes, a partial one fewer.
 */
export interface Tile {
  /** Height, 1 to 30 (the checksum database uses 8). */
  h: number;
  /** Level in the tiling. */
  l: number;
  /** Number within the level. */
  n: number;
  /** Width: hashes in the tile. */
  w: number;
}

/** Where a {@link tileHashReader} gets tiles, and how it hands back the authenticated ones. */
export interface TileReader {
  /** The tile height. */
  height: number;
  /** Each tile's data, `w * 32` bytes; tiles from the network are not yet to be trusted. */
  readTiles(tiles: Tile[]): Promise<Uint8Array[]>;
  /** Called with the tiles once they have been authenticated, so they may be kept. */
  saveTiles(tiles: Tile[], data: Uint8Array[]): Promise<void>;
}

/** A tile that does not match the signed tree, or tile data of the wrong shape. */
export class TileError extends Error {
  /** `"TileError"`. */
  override name = "TileError";
}

/**
 * The tile's coordinate path, e.g. `tile/8/0/x001/234.p/5`: the number in three-digit path
 * elements, all but the last prefixed `x`, and `.p/<w>` for a partial tile.
 *
 * @example
 * ```ts
 * import { tilePath } from "./tlog_tile.ts";
 * tilePath({ h: 8, l: 0, n: 1234, w: 5 }); // "tile/8/0/x001/234.p/5"
 * ```
 */
export function tilePath(t: Tile): string {
  let n = t.n;
  let digits = String(n % 1000).padStart(3, "0");
  while (n >= 1000) {
    n = Math.floor(n / 1000);
    digits = `x${String(n % 1000).padStart(3, "0")}/${digits}`;
  }
  const partial = t.w === 2 ** t.h ? "" : `.p/${t.w}`;
  return `tile/${t.h}/${t.l === -1 ? "data" : t.l}/${digits}${partial}`;
}

/** The narrowest tile of height `h` holding the hash at `index`, and its byte range there. */
function tileForIndex(h: number, index: number): { tile: Tile; start: number; end: number } {
  const [level, n0] = splitStoredHashIndex(index);
  const l = Math.floor(level / h);
  const within = level - l * h;
  const tn = shr(shl(n0, within), h);
  const n = n0 - shr(shl(tn, h), within);
  return {
    tile: { h, l, n: tn, w: shl(n + 1, within) },
    start: shl(n, within) * HASH_SIZE,
    end: shl(n + 1, within) * HASH_SIZE,
  };
}

/** The subtree hash of the `2^k` hashes in `data`. */
function tileHash(data: Uint8Array): Hash {
  if (data.length === HASH_SIZE) return data;
  const half = data.length / 2;
  return nodeHash(tileHash(data.subarray(0, half)), tileHash(data.subarray(half)));
}

/**
 * The hash at `index` from the data of tile `t`, which must be the tile
 * {@link tileForIndex} names for it or a wider one.
 *
 * @throws {TileError} when `t` does not hold that hash.
 */
function hashFromTile(t: Tile, data: Uint8Array, index: number): Hash {
  if (t.h < 1 || t.h > 30 || t.l < 0 || t.l >= 64 || t.w < 1 || t.w > 2 ** t.h) {
    throw new TileError(`invalid tile ${tilePath(t)}`);
  }
  if (data.length < t.w * HASH_SIZE) {
    throw new TileError(`data len ${data.length} too short for tile ${tilePath(t)}`);
  }
  const { tile, start, end } = tileForIndex(t.h, index);
  if (t.l !== tile.l || t.n !== tile.n || t.w < tile.w) {
    throw new TileError(`index ${index} is in ${tilePath(tile)} not ${tilePath(t)}`);
  }
  return tileHash(data.subarray(start, end));
}

/** The `k`-th tile parent of `t` in the tiling of a tree of `n` records, if there is one. */
function tileParent(t: Tile, k: number, n: number): Tile | undefined {
  const l = t.l + k;
  const tn = shr(t.n, k * t.h);
  let w = 2 ** t.h;
  const max = shr(n, l * t.h);
  if (shl(tn, t.h) + w >= max) {
    if (shl(tn, t.h) >= max) return undefined;
    w = max - shl(tn, t.h);
  }
  return { h: t.h, l, n: tn, w };
}

/**
 * A {@link HashReader} for the hashes of `tree` that loads them from tiles and checks the
 * tiles first: those holding the tree's own subtree hashes must hash to `tree.hash`, every
 * other one to the hash its parent tile holds for it. Only then are the tiles saved and
 * hashes returned, so every hash it returns is proven to be in `tree` (tlog's `TileHashReader`).
 *
 * @example
 * ```ts
 * import { treeHash } from "./tlog.ts";
 * import { tileHashReader } from "./tlog_tile.ts";
 * const older = await treeHash(700, tileHashReader(newerTree, tiles));
 * ```
 */
export function tileHashReader(tree: Tree, tr: TileReader): HashReader {
  return async (indexes) => {
    const set = new TileSet(tree.n);
    const stx = subTreeIndex(0, tree.n);
    const stxTile = stx.map((x) =>
      set.place(tileParent(tileForIndex(tr.height, x).tile, 0, tree.n)!)
    );
    const indexTile = indexes.map((x) => {
      if (x >= storedHashIndex(0, tree.n)) throw new TileError("indexes not in tree");
      return set.placeOfHash(tr.height, x);
    });
    const data = await tr.readTiles(set.tiles);
    checkTiles(tree, set, data, stx, stxTile);
    await tr.saveTiles(set.tiles, data);
    return indexes.map((x, i) => hashFromTile(set.tiles[indexTile[i]], data[indexTile[i]], x));
  };
}

/** The tiles one read needs, each listed once, in the order tlog's `TileHashReader` lists them. */
class TileSet {
  readonly tiles: Tile[] = [];
  readonly #n: number;
  readonly #order = new Map<string, number>();

  constructor(n: number) {
    this.#n = n;
  }

  /** The place of `t` in the list, added if it is not there yet. */
  place(t: Tile): number {
    return this.find(t) ?? this.#add(t);
  }

  /** The place of `t` in the list, if it is there. */
  find(t: Tile): number | undefined {
    return this.#order.get(tilePath(t));
  }

  /**
   * The place of the tile that holds stored hash `x`: the nearest of its parents already
   * listed, else each full parent below that one is added, down to the tile itself.
   */
  placeOfHash(h: number, x: number): number {
    const tile = tileForIndex(h, x).tile;
    let k = 0;
    let found: number | undefined;
    for (;; k++) {
      const p = tileParent(tile, k, this.#n);
      if (p === undefined) throw new TileError(`bad math in tile reader: ${this.#n} ${x}`);
      found = this.find(p);
      if (found !== undefined) break;
    }
    for (k--; k >= 0; k--) {
      const p = tileParent(tile, k, this.#n)!;
      if (p.w !== 2 ** p.h) throw new TileError(`bad math in tile reader: ${this.#n} ${x}`);
      found = this.#add(p);
    }
    return found;
  }

  #add(t: Tile): number {
    this.#order.set(tilePath(t), this.tiles.length);
    this.tiles.push(t);
    return this.tiles.length - 1;
  }
}

/**
 * Checks downloaded tiles against `tree` before any hash of them is used: the tiles of the
 * tree's own subtrees must hash to `tree.hash`, every other tile to the hash its parent holds.
 */
function checkTiles(
  tree: Tree,
  set: TileSet,
  data: Uint8Array[],
  stx: number[],
  stxTile: number[],
): void {
  const tiles = set.tiles;
  tiles.forEach((t, i) => {
    if (data[i]?.length !== t.w * HASH_SIZE) {
      throw new TileError(
        `tile ${tilePath(t)} has ${data[i]?.length ?? 0} bytes, want ${t.w * HASH_SIZE}`,
      );
    }
  });
  let th: Hash | undefined;
  for (let i = stx.length - 1; i >= 0; i--) {
    const sub = hashFromTile(tiles[stxTile[i]], data[stxTile[i]], stx[i]);
    th = th === undefined ? sub : nodeHash(sub, th);
  }
  if (th === undefined || !sameBytes(th, tree.hash)) {
    throw new TileError("downloaded inconsistent tile");
  }
  for (let i = stxTile[stx.length - 1] + 1; i < tiles.length; i++) {
    const p = tileParent(tiles[i], 1, tree.n)!;
    const j = set.find(p)!;
    const want = hashFromTile(p, data[j], storedHashIndex(p.l * p.h, tiles[i].n));
    if (!sameBytes(want, tileHash(data[i]))) {
      throw new TileError("downloaded inconsistent tile");
    }
  }
}
