import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, validateParams } from '../../src/handlers/command.js';

const BUILTIN = ['# echo', '# client_info', '# IMGEXT', '# reload bots-config'] as const;

describe('parseCommandLine (PROTOCOL §7.9)', () => {
  it('matches only at index 0, case-sensitive, with the single space after #', () => {
    expect(parseCommandLine(' # echo hi', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('# Echo hi', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('#echo hi', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('#  echo hi', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('say # echo hi', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('# imgext 1', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('# echo hi', BUILTIN)?.prefix).toBe('# echo');
  });

  it('matches on a word boundary: `# echoes` is not `# echo`', () => {
    expect(parseCommandLine('# echoes', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('# echo2 x', BUILTIN)).toBeUndefined();
    expect(parseCommandLine('# echo\tx', BUILTIN)).toMatchObject({ prefix: '# echo', prompt: 'x' });
  });

  it('tests the prefixes in the order given', () => {
    expect(parseCommandLine('# echo x', ['# e', '# echo'])?.prefix).toBe('# echo');
    expect(parseCommandLine('# e x', ['# e', '# echo'])?.prefix).toBe('# e');
    expect(parseCommandLine('!a x', ['!', '!a'])?.prefix).toBe('!');
    expect(parseCommandLine('!a x', ['!a', '!'])?.prefix).toBe('!a');
  });

  it('trims the argument text at both ends and keeps inner spacing in the prompt', () => {
    const p = parseCommandLine('# echo   a  b \t c  \n', BUILTIN);
    expect(p?.argText).toBe('a  b \t c');
    expect(p?.prompt).toBe('a  b \t c');
    expect(parseCommandLine('# echo', BUILTIN)).toMatchObject({ argText: '', prompt: '', params: new Map() });
  });

  it('removes every --name=value token anywhere, unknown names included, and trims the rest', () => {
    const p = parseCommandLine('# echo --repeat=2 hello   world --foo-bar=x9 --Z=1', BUILTIN);
    expect(p?.prompt).toBe('hello   world');
    expect(p?.argText).toBe('--repeat=2 hello   world --foo-bar=x9 --Z=1');
    expect([...(p?.params ?? [])]).toEqual([
      ['repeat', '2'],
      ['foo-bar', 'x9'],
      ['Z', '1'],
    ]);
  });

  it('keeps the last value of a repeated name', () => {
    const p = parseCommandLine('# echo hi --repeat=2 --repeat=4', BUILTIN);
    expect(p?.params.get('repeat')).toBe('4');
    expect(p?.prompt).toBe('hi');
  });

  it('takes the value as a run of non-whitespace and leaves malformed tokens in the prompt', () => {
    const p = parseCommandLine('# echo a --x=1=2,3 b --y= c --_z=1 -w=2', BUILTIN);
    expect(p?.params.get('x')).toBe('1=2,3');
    expect(p?.params.has('y')).toBe(false);
    expect(p?.prompt).toBe('a  b --y= c --_z=1 -w=2');
  });

  fcTest.prop([fc.string(), fc.string()])('never throws and the prompt has no surrounding whitespace', (a, b) => {
    const p = parseCommandLine(`# echo ${a} --k=${b.replace(/\s/g, '') || 'v'}`, BUILTIN);
    expect(p).toBeDefined();
    expect(p?.prompt).toBe(p?.prompt.trim());
  });
});

describe('validateParams (PROTOCOL §7.9)', () => {
  const echoDecl = { 'channel-id': { type: 'string' }, repeat: { type: 'int', default: 1 } } as const;

  it('applies defaults and ignores undeclared names', () => {
    expect(validateParams(new Map([['other', 'x']]), echoDecl)).toEqual({ ok: true, values: { repeat: 1 } });
  });

  it('parses ints like Python int()', () => {
    for (const [raw, n] of [
      ['3', 3],
      ['-2', -2],
      ['+7', 7],
      ['007', 7],
      ['1_000', 1000],
    ] as const) {
      expect(validateParams(new Map([['repeat', raw]]), echoDecl)).toEqual({ ok: true, values: { repeat: n } });
    }
  });

  it('answers the exact error reply for an int that does not parse', () => {
    for (const raw of ['abc', '1.5', '2x', '0x10', '1__0', '_1']) {
      expect(validateParams(new Map([['repeat', raw]]), echoDecl)).toEqual({
        ok: false,
        error: `❌ 파라미터 오류: 파라미터 'repeat'의 값이 올바른 int 형식이 아닙니다: ${raw}`,
      });
    }
  });

  it('keeps strings as given', () => {
    expect(validateParams(new Map([['channel-id', '007']]), echoDecl)).toEqual({
      ok: true,
      values: { 'channel-id': '007', repeat: 1 },
    });
  });
});
