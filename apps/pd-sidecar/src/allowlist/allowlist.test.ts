import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@llmd/observability';
import { waitUntil } from '@llmd/testing';
import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHostPort, PrefillAllowlist } from './allowlist.js';
import { AllowlistFileError, AllowlistFileSource, parseAllowlistFile } from './file-source.js';

describe('parseHostPort', () => {
  it.each([
    ['10.0.0.1:8000', true, { host: '10.0.0.1', port: 8000 }],
    ['http://10.0.0.1:8000', true, { host: '10.0.0.1', port: 8000 }],
    ['https://Pod-A.ns.svc:8443/', true, { host: 'pod-a.ns.svc', port: 8443 }],
    [' [fd00::1]:8000 ', true, { host: 'fd00::1', port: 8000 }],
    ['10.0.0.1', false, { host: '10.0.0.1', port: null }],
    ['fd00::1', false, { host: 'fd00::1', port: null }],
    ['localhost:1', true, { host: 'localhost', port: 1 }],
  ])('reads %j', (text, portRequired, expected) => {
    expect(parseHostPort(text, portRequired)).toEqual(expected);
  });

  it.each([
    ['10.0.0.1', true],
    ['', false],
    ['10.0.0.1:0', true],
    ['10.0.0.1:65536', true],
    ['10.0.0.1:80x', true],
    ['not a host:80', true],
    ['[fd00::1', true],
    ['[nothex]:80', true],
    ['user@host:80', true],
    ['host:80/path', true],
  ])('rejects %j', (text, portRequired) => {
    expect(parseHostPort(text, portRequired)).toBeNull();
  });

  it('formats IPv6 in brackets', () => {
    expect(formatHostPort({ host: 'fd00::1', port: 8000 })).toBe('[fd00::1]:8000');
    expect(formatHostPort({ host: '10.0.0.1', port: null })).toBe('10.0.0.1');
  });
});

describe('PrefillAllowlist', () => {
  it('allows exact host:port entries and every port of bare hosts, as the union of its sources', () => {
    const list = new PrefillAllowlist();
    expect(list.replace('flags', ['10.0.0.1:8000', '10.0.0.2', 'bad entry'])).toEqual(['bad entry']);
    list.replace('file', ['[fd00::1]:8000']);
    const allowed = (s: string) => list.isAllowed(parseHostPort(s, true) ?? { host: '', port: 0 });
    expect(allowed('10.0.0.1:8000')).toBe(true);
    expect(allowed('10.0.0.1:8001')).toBe(false);
    expect(allowed('10.0.0.2:1234')).toBe(true);
    expect(allowed('[FD00::1]:8000')).toBe(true);
    expect(allowed('169.254.169.254:80')).toBe(false);
    expect(list.size).toBe(3);
    list.replace('file', []);
    expect(allowed('[fd00::1]:8000')).toBe(false);
    list.remove('flags');
    expect(list.size).toBe(0);
  });
});

describe('allowlist file', () => {
  it('reads the router’s endpoints format, skipping unusable entries', () => {
    const content = parseAllowlistFile(`endpoints:
- {name: a, address: "10.0.0.1", port: "8000", labels: {llm-d.ai/role: prefill}}
- {name: b, address: "10.0.0.2", port: 8200}
- {name: c, address: "fd00::1", port: "8000"}
- {name: d, port: "8000"}
- {name: e, address: "10.0.0.5", port: "0"}
- just text
`);
    expect(content.targets).toEqual(['10.0.0.1:8000', '10.0.0.2:8200', '[fd00::1]:8000']);
    expect(content.issues).toEqual(['endpoints[3].address: required', 'endpoints[4].port: expected 1..65535', 'endpoints[5]: expected a mapping']);
  });

  it.each([['endpoints: ['], ['[]'], ['targets: []']])('rejects %j as a whole', (text) => {
    expect(() => parseAllowlistFile(text)).toThrow(AllowlistFileError);
  });

  it('follows edits and atomic renames, and keeps the last good entries when a reload fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-allowlist-'));
    const file = join(dir, 'endpoints.yaml');
    writeFileSync(file, 'endpoints:\n- {name: a, address: "10.0.0.1", port: "8000"}\n');
    const list = new PrefillAllowlist();
    const source = new AllowlistFileSource(file, list, silentLogger());
    await source.start();
    try {
      expect(list.entries()).toEqual(['10.0.0.1:8000']);
      writeFileSync(file, 'endpoints:\n- {name: b, address: "10.0.0.2", port: "8000"}\n');
      await waitUntil(() => list.entries()[0] === '10.0.0.2:8000', 'the edit to be picked up');
      writeFileSync(join(dir, 'next.yaml'), 'endpoints:\n- {name: c, address: "10.0.0.3", port: "9000"}\n');
      renameSync(join(dir, 'next.yaml'), file);
      await waitUntil(() => list.entries()[0] === '10.0.0.3:9000', 'the rename to be picked up');
      const loads = source.loads;
      writeFileSync(join(dir, 'unrelated.txt'), 'x');
      writeFileSync(file, 'endpoints: [');
      // The broken file is read and refused; the entries stay.
      await waitUntil(() => source.failures === 1, 'the broken file to be refused');
      expect(source.loads).toBe(loads);
      expect(list.entries()).toEqual(['10.0.0.3:9000']);
    } finally {
      source.close();
    }
  });

  it('fails to start on a missing file', async () => {
    const source = new AllowlistFileSource('/nonexistent/endpoints.yaml', new PrefillAllowlist(), silentLogger());
    await expect(source.start()).rejects.toThrow(/cannot read/);
  });
});
