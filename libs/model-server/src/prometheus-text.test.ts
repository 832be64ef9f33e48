import { describe, expect, it } from 'vitest';
import { parsePrometheusText, type Sample } from './prometheus-text.js';

function only(text: string): Sample {
  const all = [...parsePrometheusText(text).values()].flat();
  expect(all).toHaveLength(1);
  return all[0] as Sample;
}

describe('parsePrometheusText', () => {
  it.each([
    ['a name and a value', 'vllm:num_requests_waiting 3', 'vllm:num_requests_waiting', {}, 3, undefined],
    ['labels', 'm{model_name="llama",engine="0"} 1.5', 'm', { model_name: 'llama', engine: '0' }, 1.5, undefined],
    ['escaped quote, backslash and newline', 'm{a="x\\"y\\\\z\\nw"} 1', 'm', { a: 'x"y\\z\nw' }, 1, undefined],
    ['an unknown escape kept as written', 'm{a="x\\ty"} 1', 'm', { a: 'x\\ty' }, 1, undefined],
    ['separators inside a label value', 'm{a="x,y}z=w"} 1', 'm', { a: 'x,y}z=w' }, 1, undefined],
    ['an empty label value', 'm{a=""} 0', 'm', { a: '' }, 0, undefined],
    ['a trailing comma and blanks', 'm{ a = "1" , b="2", } 7', 'm', { a: '1', b: '2' }, 7, undefined],
    ['an empty label set', 'm{} 4', 'm', {}, 4, undefined],
    ['+Inf', 'h_bucket{le="+Inf"} +Inf', 'h_bucket', { le: '+Inf' }, Infinity, undefined],
    ['-Inf', 'm -Inf', 'm', {}, -Infinity, undefined],
    ['an exponent', 'm 1.5e+06', 'm', {}, 1_500_000, undefined],
    ['a timestamp', 'm{a="b"} 2 1712345678901', 'm', { a: 'b' }, 2, 1712345678901],
    ['a negative timestamp', 'm 2 -5', 'm', {}, 2, -5],
    ['tabs and leading blanks', '  \tm\t5\t10', 'm', {}, 5, 10],
    ['CRLF line ends', 'm 9\r\n', 'm', {}, 9, undefined],
  ])('reads %s', (_what, line, name, labels, value, timestampMs) => {
    const s = only(line);
    expect(s.name).toBe(name);
    expect({ ...s.labels }).toEqual(labels);
    expect(s.value).toBe(value);
    expect(s.timestampMs).toBe(timestampMs);
  });

  it('reads NaN', () => {
    expect(only('m NaN').value).toBeNaN();
  });

  it.each([
    ['no value', 'm'],
    ['no value after labels', 'm{a="b"}'],
    ['an unterminated label set', 'm{a="b" 1'],
    ['an unquoted label value', 'm{a=b} 1'],
    ['a label without value', 'm{a} 1'],
    ['an unterminated label value', 'm{a="b} 1'],
    ['a non-numeric value', 'm abc'],
    ['a fractional timestamp', 'm 1 1.5'],
    ['extra tokens', 'm 1 2 3'],
    ['a name starting with a digit', '1m 1'],
    ['a dash in the name', 'm-x 1'],
    ['labels without a name', '{a="b"} 1'],
  ])('skips a line with %s', (_what, line) => {
    const parsed = parsePrometheusText(`${line}\nok 1\n`);
    expect([...parsed.keys()]).toEqual(['ok']);
  });

  it('skips comments, TYPE and HELP lines and blank lines', () => {
    const parsed = parsePrometheusText('# HELP m Help text 1\n# TYPE m gauge\n\n   \nm 1\n# EOF\n');
    expect([...parsed.keys()]).toEqual(['m']);
    expect(parsed.get('m')).toHaveLength(1);
  });

  it('groups several series of one metric in exposition order', () => {
    const parsed = parsePrometheusText('m{i="0"} 0\nother 5\nm{i="1"} 1\nm{i="2"} 2');
    expect(parsed.get('m')?.map((s) => s.labels['i'])).toEqual(['0', '1', '2']);
    expect(parsed.get('other')?.[0]?.value).toBe(5);
  });

  it('keeps only the wanted names when given a filter', () => {
    const text = 'a 1\nb{x="y"} 2\nc 3\nb{x="z"} 4\n';
    const parsed = parsePrometheusText(text, new Set(['b', 'missing']));
    expect([...parsed.keys()]).toEqual(['b']);
    expect(parsed.get('b')?.map((s) => s.value)).toEqual([2, 4]);
  });

  it('does not treat a name that is a prefix of a wanted name as wanted', () => {
    const parsed = parsePrometheusText('vllm:num_requests 1\nvllm:num_requests_waiting_total 2\n', new Set(['vllm:num_requests_waiting']));
    expect(parsed.size).toBe(0);
  });

  it('reads the same samples with a filter as without one, restricted to the wanted names', () => {
    const text = [
      '# HELP m the m metric; m 5 in a comment',
      '# TYPE m gauge',
      'm{a="1"} 1',
      'm_total 2',
      'xm 3',
      '  m{a="2"} 4 1000\r',
      'm{a="3 5',
      'other{label="m 9"} 6',
      '\tm\t7',
      'm',
    ].join('\n');
    const wanted = new Set(['m', 'absent']);
    const filtered = parsePrometheusText(text, wanted);
    const full = parsePrometheusText(text);
    expect([...filtered.keys()]).toEqual(['m']);
    expect(filtered.get('m')).toEqual(full.get('m'));
    expect(filtered.get('m')?.map((s) => s.value)).toEqual([1, 4, 7]);
  });

  it('stores a label named __proto__ as a plain label', () => {
    expect(only('m{__proto__="x"} 1').labels['__proto__']).toBe('x');
  });
});
