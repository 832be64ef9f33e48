import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '@llmd/observability';
import { describe, expect, it } from 'vitest';
import { createHealthServer, healthStatusOf, ServingStatus, type HealthState } from './health.js';
import { healthClient } from './protos.js';
import { createExtProcServer } from './server.js';
import { FakeDirector } from './test-support/ext-proc-harness.js';

/** A health state a test flips. */
function switchable(initial: boolean): HealthState & { set(v: boolean): void } {
  let ready = initial;
  return { ready: () => ready, set: (v) => (ready = v) };
}

interface HealthStub extends grpc.Client {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status?: number }) => void): void;
  List(req: object, cb: (err: grpc.ServiceError | null, res?: { statuses: Record<string, { status?: number }> }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<unknown>;
}

function client(port: number): HealthStub & Disposable {
  const Ctor = healthClient();
  const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthStub;
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/** Check's status; UNKNOWN (0) is not sent on the wire, so a missing field reads as 0. */
function check(c: HealthStub, service: string): Promise<number> {
  return new Promise((resolve, reject) => c.Check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status ?? 0))));
}

const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = ServingStatus;
const EXT_PROC = 'envoy.service.ext_proc.v3.ExternalProcessor';

describe('gRPC health', () => {
  it.each([
    ['liveness', true, SERVING],
    ['liveness', false, SERVING],
    ['readiness', true, SERVING],
    ['readiness', false, NOT_SERVING],
    ['', true, SERVING],
    ['', false, NOT_SERVING],
    ['envoy.service.ext_proc.v3.ExternalProcessor', true, SERVING],
    ['envoy.service.ext_proc.v3.ExternalProcessor', false, NOT_SERVING],
    ['some.other.Service', true, SERVICE_UNKNOWN],
  ])('Check(%j) with ready=%s answers %i', async (service, ready, expected) => {
    await using server = createHealthServer({ healthState: switchable(ready), logger: silentLogger() });
    using c = client(await server.listen(0, '127.0.0.1'));
    expect(await check(c, service)).toBe(expected);
  });

  it('reads the state on every check, so readiness follows it', async () => {
    const state = switchable(false);
    await using server = createHealthServer({ healthState: state, logger: silentLogger() });
    using c = client(await server.listen(0, '127.0.0.1'));
    expect(await check(c, 'readiness')).toBe(NOT_SERVING);
    state.set(true);
    expect(await check(c, 'readiness')).toBe(SERVING);
    expect(healthStatusOf('readiness', state)).toBe(SERVING);
  });

  it('lists every known service, and answers Watch with UNIMPLEMENTED', async () => {
    await using server = createHealthServer({ healthState: switchable(false), logger: silentLogger() });
    using c = client(await server.listen(0, '127.0.0.1'));
    const listed = await new Promise<Record<string, { status?: number }>>((resolve, reject) => c.List({}, (err, res) => (err ? reject(err) : resolve(res?.statuses ?? {}))));
    expect(listed).toEqual({
      liveness: { status: SERVING },
      readiness: { status: NOT_SERVING },
      '': { status: NOT_SERVING },
      'envoy.service.ext_proc.v3.ExternalProcessor': { status: NOT_SERVING },
    });
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const w = c.Watch({ service: '' });
      w.on('error', () => undefined);
      w.on('status', resolve);
    });
    expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it.each([
    [true, SERVING],
    [false, undefined],
  ])('is served on the ext_proc port only with healthChecking=%s', async (healthChecking, expected) => {
    await using server = createExtProcServer({ director: new FakeDirector(), logger: silentLogger(), secure: false, healthState: switchable(true), healthChecking });
    using c = client(await server.listen(0, '127.0.0.1'));
    if (expected !== undefined) {
      expect(await check(c, EXT_PROC)).toBe(expected);
    } else {
      await expect(check(c, EXT_PROC)).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    }
  });
});
