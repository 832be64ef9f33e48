import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { poll } from './poll.js';
import { KubeApiError, kubeFetch, kubeRequest, objectPath, type KubeObject, type ObjectRef } from './rest.js';

/** The field manager of changes made by these helpers unless told otherwise. */
export const DEFAULT_FIELD_MANAGER = 'llmd-test';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<KubeObject>;
  return typeof v.apiVersion === 'string' && typeof v.kind === 'string' && typeof v.metadata === 'object' && v.metadata !== null && typeof v.metadata.name === 'string';
}

/**
 * Parses YAML (one or more `---`-separated documents, or JSON) into objects. Empty documents are
 * skipped; `kind: …List` documents are flattened into their items. `origin` names the source
 * in error messages.
 */
export function parseManifests(text: string, origin = 'manifest'): KubeObject[] {
  const objects: KubeObject[] = [];
  const docs = parseAllDocuments(text);
  for (const [index, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    if (doc.errors.length > 0) throw new Error(`${origin}: document ${index + 1} is not valid YAML: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const items = typeof value === 'object' && /List$/.test(String((value as { kind?: unknown }).kind)) && Array.isArray((value as { items?: unknown }).items) ? (value as { items: unknown[] }).items : [value];
    for (const item of items) {
      if (!isKubeObject(item)) throw new Error(`${origin}: document ${index + 1} is not a Kubernetes object (it needs apiVersion, kind and metadata.name)`);
      objects.push(item);
    }
  }
  return objects;
}

async function manifestFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new Error(`manifest path ${path} does not exist`, { cause: err });
  }
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) files.push(...(await manifestFiles(full)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name))) files.push(full);
  }
  return files;
}

/**
 * Reads manifests from files and folders. A folder is searched recursively for `.yaml`, `.yml`
 * and `.json` files, in name order; a file is read whatever its name.
 */
export async function loadManifestFiles(pathsOrDirs: string | readonly string[]): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const path of typeof pathsOrDirs === 'string' ? [pathsOrDirs] : pathsOrDirs) {
    for (const file of await manifestFiles(path)) objects.push(...parseManifests(await readFile(file, 'utf8'), file));
  }
  return objects;
}

/** How {@link applyManifests} and {@link applyObject} write. */
export interface ApplyOptions {
  /** Field manager recorded for the applied fields (default `llmd-test`). */
  readonly fieldManager?: string;
  /** Take over fields another manager owns instead of failing with a conflict (default true). */
  readonly force?: boolean;
  /** Milliseconds to wait for applied CRDs to be established (default 60 s). */
  readonly crdTimeoutMs?: number;
}

/** Server-side applies one object (creating it if missing) and returns it as stored. */
export async function applyObject(kubeConfig: KubeConfig, object: KubeObject, options: ApplyOptions = {}): Promise<KubeObject> {
  const path = await objectPath(kubeConfig, object);
  const query = new URLSearchParams({ fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER, force: String(options.force ?? true) });
  return (await kubeRequest(kubeConfig, {
    method: 'PATCH',
    path: `${path}?${query}`,
    body: object,
    contentType: 'application/apply-patch+yaml',
  })) as KubeObject;
}

/** Creates one object (failing with 409 AlreadyExists if it exists) and returns it as stored. */
export async function createObject(kubeConfig: KubeConfig, object: KubeObject, options: { fieldManager?: string } = {}): Promise<KubeObject> {
  const path = await objectPath(kubeConfig, object, false);
  const query = new URLSearchParams({ fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER });
  return (await kubeRequest(kubeConfig, { method: 'POST', path: `${path}?${query}`, body: object })) as KubeObject;
}

const ORDER_FIRST = ['Namespace', 'CustomResourceDefinition'];

/**
 * Server-side applies manifests: a YAML string, one object or a list of objects. Namespaces and
 * CRDs go first, and the CRDs are waited for (established and served) before the rest, so one
 * bundle can hold a CRD and objects of its kind. Returns the objects as stored, in input order.
 */
export async function applyManifests(
  kubeConfig: KubeConfig,
  manifests: string | KubeObject | readonly KubeObject[],
  options: ApplyOptions = {},
): Promise<KubeObject[]> {
  const objects = typeof manifests === 'string' ? parseManifests(manifests) : Array.isArray(manifests) ? [...manifests] : [manifests as KubeObject];
  const rank = (o: KubeObject) => {
    const at = ORDER_FIRST.indexOf(o.kind);
    return at < 0 ? ORDER_FIRST.length : at;
  };
  const order = objects.map((object, index) => ({ object, index })).sort((a, b) => rank(a.object) - rank(b.object) || a.index - b.index);
  const stored = new Array<KubeObject>(objects.length);
  const crds: string[] = [];
  let crdsReady = true;
  for (const { object, index } of order) {
    if (!crdsReady && object.kind !== 'CustomResourceDefinition') {
      await waitForCrds(kubeConfig, crds, options.crdTimeoutMs);
      crdsReady = true;
    }
    stored[index] = await applyObject(kubeConfig, object, options);
    if (object.kind === 'CustomResourceDefinition' && object.apiVersion.startsWith('apiextensions.k8s.io/')) {
      crds.push(object.metadata.name);
      crdsReady = false;
    }
  }
  if (!crdsReady) await waitForCrds(kubeConfig, crds, options.crdTimeoutMs);
  return stored;
}

/** Server-side applies every manifest found by {@link loadManifestFiles}. */
export async function applyManifestFiles(kubeConfig: KubeConfig, pathsOrDirs: string | readonly string[], options: ApplyOptions = {}): Promise<KubeObject[]> {
  return applyManifests(kubeConfig, await loadManifestFiles(pathsOrDirs), options);
}

/** How {@link patchStatus} writes. */
export interface PatchStatusOptions {
  /**
   * `merge` (default): a JSON merge patch of `{ status }`, as a controller's status update does.
   * `apply`: a server-side apply of the status, owned by `fieldManager`.
   */
  readonly strategy?: 'merge' | 'apply';
  /** Field manager for `apply` (default `llmd-test`). */
  readonly fieldManager?: string;
}

/**
 * Writes the status subresource of an object, which a plain update or apply ignores when the type
 * has a status subresource. Returns the object as stored.
 */
export async function patchStatus(kubeConfig: KubeConfig, ref: ObjectRef, status: Record<string, unknown>, options: PatchStatusOptions = {}): Promise<KubeObject> {
  const path = `${await objectPath(kubeConfig, ref)}/status`;
  if (options.strategy === 'apply') {
    const query = new URLSearchParams({ fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER, force: 'true' });
    const metadata = { name: ref.metadata.name, ...(ref.metadata.namespace === undefined ? {} : { namespace: ref.metadata.namespace }) };
    return (await kubeRequest(kubeConfig, {
      method: 'PATCH',
      path: `${path}?${query}`,
      body: { apiVersion: ref.apiVersion, kind: ref.kind, metadata, status },
      contentType: 'application/apply-patch+yaml',
    })) as KubeObject;
  }
  return (await kubeRequest(kubeConfig, { method: 'PATCH', path, body: { status }, contentType: 'application/merge-patch+json' })) as KubeObject;
}

/** Reads one object; undefined when it does not exist. */
export async function getObject(kubeConfig: KubeConfig, ref: ObjectRef): Promise<KubeObject | undefined> {
  try {
    return (await kubeRequest(kubeConfig, { method: 'GET', path: await objectPath(kubeConfig, ref) })) as KubeObject;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** Deletes one object; resolves whether or not it existed. Finalizers may keep it a while longer. */
export async function deleteObject(kubeConfig: KubeConfig, ref: ObjectRef): Promise<void> {
  const res = await kubeFetch(kubeConfig, { method: 'DELETE', path: await objectPath(kubeConfig, ref) });
  if (res.status === 404 || (res.status >= 200 && res.status < 300)) return;
  throw new KubeApiError(res.status, undefined, `DELETE ${ref.kind} ${ref.metadata.name}: ${res.status}: ${JSON.stringify(res.body)}`, res.body);
}

interface CrdState {
  spec?: { group?: string; names?: { plural?: string }; versions?: { name: string; served?: boolean }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/**
 * Waits until each named CRD is Established and every served version lists the resource in
 * discovery, so objects of its kinds can be written right away.
 */
export async function waitForCrds(kubeConfig: KubeConfig, names: readonly string[], timeoutMs = 60_000): Promise<void> {
  for (const name of names) {
    let last = 'not read yet';
    await poll(
      async () => {
        const res = await kubeFetch(kubeConfig, { method: 'GET', path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}` });
        if (res.status !== 200) {
          last = `GET returned ${res.status}`;
          return false;
        }
        const crd = res.body as CrdState;
        const conditions = crd.status?.conditions ?? [];
        const established = conditions.find((c) => c.type === 'Established');
        if (established?.status !== 'True') {
          const problem = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
          last = problem ? `names not accepted: ${problem.message ?? problem.reason}` : 'not Established yet';
          return false;
        }
        for (const version of crd.spec?.versions ?? []) {
          if (version.served === false) continue;
          const discovery = await kubeFetch(kubeConfig, { method: 'GET', path: `/apis/${crd.spec?.group}/${version.name}` });
          const resources = (discovery.body as { resources?: { name: string }[] } | undefined)?.resources ?? [];
          if (discovery.status !== 200 || !resources.some((r) => r.name === crd.spec?.names?.plural)) {
            last = `${crd.spec?.group}/${version.name} not in discovery yet`;
            return false;
          }
        }
        return true;
      },
      { timeoutMs, what: () => `CRD ${name} to be established (${last})` },
    );
  }
}
