/**
 * Resolves once `condition` holds, re-checking on every timer tick; throws after `attempts` checks.
 * For state that changes without an event to wait on (another process's gauges).
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, attempts = 2000): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** What {@link postJson} returns. */
export interface JsonResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** POSTs JSON (or a raw string) and returns the status, the parsed body (or text) and headers. */
export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain-text answer: keep the text.
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
