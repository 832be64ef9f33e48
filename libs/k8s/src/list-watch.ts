import { resourcePath, type KubeClient, type KubeList, type ResourceType } from './client.js';
import type { KubeObject, ListWatch } from './informer.js';

/** Page size of lists (the API server's continue tokens page through the rest). */
const LIST_PAGE = 500;

/**
 * List+watch of a collection path (`/api/v1/namespaces/ns/pods`) with fixed query parameters
 * (`labelSelector`, `fieldSelector`). Watches ask for bookmarks and end after 5–10 minutes, as
 * client-go's do, so a connection that died silently is replaced.
 */
export function collectionListWatch<T extends KubeObject>(
  client: KubeClient,
  path: string,
  query: Record<string, string | undefined> = {},
  random: () => number = Math.random,
): ListWatch<T> {
  return {
    async list() {
      const items: T[] = [];
      let cont: string | undefined;
      let resourceVersion: string | undefined;
      do {
        const page = await client.get<KubeList<T>>(path, { ...query, limit: LIST_PAGE, continue: cont });
        items.push(...(page.items ?? []));
        cont = page.metadata?.continue || undefined;
        resourceVersion = page.metadata?.resourceVersion;
      } while (cont);
      return { items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
    },
    watch(resourceVersion, onEvent, signal) {
      const timeoutSeconds = Math.floor(300 * (1 + random()));
      return client.watch<T>(path, { ...query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, onEvent, signal);
    },
  };
}

/**
 * List+watch of one resource type (in a namespace, or everywhere), optionally by label selector.
 * Listed items get the type's `apiVersion` and `kind`, which lists of built-in types leave out.
 */
export function resourceListWatch<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  options: { labelSelector?: string; random?: () => number } = {},
): ListWatch<T> {
  const inner = collectionListWatch<T>(client, resourcePath(type, namespace), { labelSelector: options.labelSelector || undefined }, options.random);
  return {
    async list(signal) {
      const list = await inner.list(signal);
      return { ...list, items: list.items.map((o) => ({ ...o, apiVersion: type.apiVersion, kind: type.kind })) };
    },
    watch: (resourceVersion, onEvent, signal) => inner.watch(resourceVersion, onEvent, signal),
  };
}
