/**
 * The network floor: downloads every file of a set from the local proxy with N requests in
 * flight and discards the bytes. No tool that fetches the same files through the same proxy
 * can finish sooner.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read bench/net_floor.ts URL N FILE_LIST`.
 *
 * @module
 */

/** Fetches `base/<file>` for every file with `concurrency` in flight; returns the bytes read. */
export async function fetchAll(
  base: string,
  files: string[],
  concurrency: number,
): Promise<number> {
  let next = 0;
  let bytes = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const file = files[next++];
      const res = await fetch(`${base}/${file}`);
      if (!res.ok || !res.body) throw new Error(`${file}: HTTP ${res.status}`);
      for await (const chunk of res.body) bytes += chunk.length;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return bytes;
}

if (import.meta.main) {
  const [base, n, list] = Deno.args;
  const files = (await Deno.readTextFile(list)).split("\n").filter((f) => f !== "");
  const host = new URL(base).hostname;
  if (host !== "127.0.0.1") throw new Error(`Refusing to fetch from ${host}: loopback only`);
  await fetchAll(base.replace(/\/$/, ""), files, Number(n));
}
