// The committed CRDs on a real kube-apiserver: they install, and the server accepts and rejects the
// same samples zod does, naming the same field.
import { fileURLToPath } from 'node:url';
import { kubeFetch, objectPath, startControlPlane, type ControlPlane, type KubeObject } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES } from './test-support/samples.js';

const crdDir = fileURLToPath(new URL('../../../config/crd/', import.meta.url));

describe('config/crd on a real API server', () => {
  let plane: ControlPlane;

  beforeAll(async () => {
    // The whole folder, as other packages' tests install it (its kustomization.yaml is skipped).
    plane = await startControlPlane({ crds: crdDir });
  }, 180_000);

  afterAll(async () => {
    await plane?.stop();
  });

  it.each(CASES.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    const { status, ...withoutStatus } = c.object as KubeObject & { status?: unknown };
    let res;
    if (status === undefined) {
      const path = await objectPath(plane.kubeConfig, withoutStatus, false);
      res = await kubeFetch(plane.kubeConfig, { method: 'POST', path: `${path}?dryRun=All&fieldValidation=Strict`, body: withoutStatus });
    } else {
      // Status is written through its subresource, so create the object, then patch its status.
      const object = { ...withoutStatus, metadata: { ...withoutStatus.metadata, name: `status-case-${i}` } };
      const created = await kubeFetch(plane.kubeConfig, { method: 'POST', path: await objectPath(plane.kubeConfig, object, false), body: object });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      res = await kubeFetch(plane.kubeConfig, {
        method: 'PATCH',
        path: `${await objectPath(plane.kubeConfig, object)}/status?dryRun=All`,
        body: { status },
        contentType: 'application/merge-patch+json',
      });
    }
    const message = String((res.body as { message?: unknown }).message ?? '');
    if (c.invalid === undefined) {
      expect([200, 201], message).toContain(res.status);
    } else {
      expect(res.status, message).toBe(422);
      expect(message).toContain(c.invalid === '' ? 'metadata.name' : `${c.invalid}:`);
    }
  });
});
