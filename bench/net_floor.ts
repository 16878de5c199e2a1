/**
 * The network floor: downloads every file of a set from the local proxy with N requests in
 * flight, following the zip redirects, and discards the bytes. No tool that fetches the same
 * files through the same proxy can finish sooner.
 *
 * It spends connections as a good client does, and as goprefetch does: one HTTP client per
 * origin, whose first request goes alone until its response headers come, so that the others
 * share its HTTP/2 connection instead of racing to open their own (on HTTP/1.1 they then open
 * one per request in flight, as any client must). On the TLS profiles it trusts the bench CA
 * through DENO_CERT.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read bench/net_floor.ts URL N FILE_LIST`.
 *
 * @module
 */

/** One origin's HTTP client, and its first request's headers, which the others wait for. */
class Origin {
  readonly client: Deno.HttpClient = Deno.createHttpClient({});
  #opened: Promise<unknown> | undefined;

  /** Sends a GET of `url`, redirects not followed, once the origin's connection is up. */
  async get(url: string): Promise<Response> {
    if (this.#opened) await this.#opened;
    const res = fetch(url, { client: this.client, redirect: "manual" });
    this.#opened ??= res.catch(() => undefined);
    return await res;
  }
}

/** Fetches `base/<file>` for every file with `concurrency` in flight; returns the bytes read. */
export async function fetchAll(
  base: string,
  files: string[],
  concurrency: number,
): Promise<number> {
  const origins = new Map<string, Origin>();
  const get = (url: string) => {
    const key = new URL(url).origin;
    if (!origins.has(key)) origins.set(key, new Origin());
    return origins.get(key)!.get(url);
  };
  let next = 0;
  let bytes = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const file = files[next++];
      let res = await get(`${base}/${file}`);
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        res = await get(new URL(location, base).href);
      }
      if (!res.ok || !res.body) throw new Error(`Network floor: ${file}: HTTP ${res.status}`);
      for await (const chunk of res.body) bytes += chunk.length;
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    for (const o of origins.values()) o.client.close();
  }
  return bytes;
}

if (import.meta.main) {
  const [base, n, list] = Deno.args;
  const files = (await Deno.readTextFile(list)).split("\n").filter((f) => f !== "");
  const host = new URL(base).hostname;
  if (host !== "127.0.0.1") throw new Error(`Network floor: refusing ${host}: loopback only`);
  await fetchAll(base.replace(/\/$/, ""), files, Number(n));
}
