import { describe, expect, it } from 'vitest';
import { elementText, expandValues, keyElement, parseOverride } from '../../src/config/grammar.js';
import { Float } from '../../src/util/numbers.js';

const value = (line: string): unknown => {
  const v = parseOverride(line).value;
  if (v?.kind !== 'element') throw new Error(`${line} is not a plain value`);
  return v.value;
};

describe('value typing (a single token is typed, several make a string)', () => {
  it.each([
    ['x=10', 10],
    ['x=-3.14', -3.14],
    ['x=1e-05', 1e-5],
    ['x=1.5E+3', new Float(1500)],
    ['x=10_0', 100],
    ['x=1_000_000', 1_000_000],
    ['x=.5', 0.5],
    ['x=1.', new Float(1)],
    ['x=inf', Infinity],
    ['x=-INF', -Infinity],
    ['x=true', true],
    ['x=FALSE', false],
    ['x=TrUe', true],
    ['x=null', null],
    ['x=NULL', null],
    ['x=abc-123', 'abc-123'],
    ['x=10abc', '10abc'],
    ['x=007', '007'],
    ['x=trueish', 'trueish'],
    ['x=hello world', 'hello world'],
    ['x=  padded  ', 'padded'],
    ['x=c:\\foo\\a-b.txt', 'c:\\foo\\a-b.txt'],
    ['x=xyz_${a.b}', 'xyz_${a.b}'],
    ['x=${a.b}', '${a.b}'],
    ['x=/usr/local/bin', '/usr/local/bin'],
    ['x=', ''],
    ["x='1,2,3'", '1,2,3'],
    ['x="true"', 'true'],
    ["x='it\\'s'", "it's"],
    ["x='{a: 10}'", '{a: 10}'],
    ['x=job\\{a\\=1\\,b\\=2\\}', 'job{a=1,b=2}'],
    ['x=a\\ b', 'a b'],
    ['x=%Y-%m-%d', '%Y-%m-%d'],
    ['x=int(3.14)', 3],
    ['x=float(10)', new Float(10)],
    ['x=str(10)', '10'],
    ['x=bool("true")', true],
  ])('%s', (line, expected) => {
    expect(value(line)).toEqual(expected);
  });

  it('parses nan as NaN', () => {
    expect(value('x=nan')).toBeNaN();
  });
});

describe('containers', () => {
  it.each([
    ['x=[1,2,3]', [1, 2, 3]],
    ['x=[ 1 , 2 ]', [1, 2]],
    ['x=[]', []],
    ['x=[a,[b,[c]]]', ['a', ['b', ['c']]]],
    ['x={a:1,b:two}', { a: 1, b: 'two' }],
    ['x={user: root, pass: 1234}', { user: 'root', pass: 1234 }],
    ['x={}', {}],
    ['x={a:[1,2],b:{c:null}}', { a: [1, 2], b: { c: null } }],
    ['x=int([1.5,2.5])', [1, 2]],
  ])('%s', (line, expected) => {
    expect(value(line)).toEqual(expected);
  });
});

describe('keys and prefixes', () => {
  it.each([
    ['a.b.c=1', 'change', 'a.b.c', null],
    ['+a=1', 'add', 'a', null],
    ['++a=1', 'forceAdd', 'a', null],
    ['~a', 'delete', 'a', null],
    ['~a=1', 'delete', 'a', null],
    ['db@backup=mysql', 'change', 'db', 'backup'],
    ['db@=mysql', 'change', 'db', ''],
    ['server/db=sqlite', 'change', 'server/db', null],
    ['list.0.bar=1', 'change', 'list.0.bar', null],
    ['$db=1', 'change', '$db', null],
  ])('%s', (line, type, key, pkg) => {
    const o = parseOverride(line);
    expect(o.type).toBe(type);
    expect(o.keyOrGroup).toBe(key);
    expect(o.pkg).toBe(pkg);
  });

  it('keyElement keeps the prefix and package', () => {
    expect(keyElement(parseOverride('+db@x=1'))).toBe('+db@x');
    expect(keyElement(parseOverride('~a.b'))).toBe('~a.b');
  });
});

describe('sweeps', () => {
  const sweepValues = (line: string, options?: string[]): unknown[] => {
    const v = parseOverride(line).value;
    if (v?.kind !== 'sweep') throw new Error('not a sweep');
    return expandValues(v.sweep, line, options).map((e) => e.value);
  };

  it.each([
    ['x=1,2,3', [1, 2, 3]],
    ['x=a, b', ['a', 'b']],
    ['x=[1,2],[3]', [[1, 2], [3]]],
    ['x=choice(1,2)', [1, 2]],
    ['x=choice(a)', ['a']],
    ['x=range(5)', [0, 1, 2, 3, 4]],
    ['x=range(1,9,2)', [1, 3, 5, 7]],
    ['x=range(start=1,stop=4)', [1, 2, 3]],
    ['x=range(0,10,3.3)', [new Float(0), 3.3, 6.6, 9.9]],
    ['x=range(-5,step=-1)', [0, -1, -2, -3, -4]],
    ['x=sort(3,1,2)', [1, 2, 3]],
    ['x=sort(range(1,4),reverse=true)', [3, 2, 1]],
    ['x=str(choice(1,2))', ['1', '2']],
    ['x=int(range(1,3))', [1, 2]],
    ['x=tag(log,choice(1,2))', [1, 2]],
  ])('%s', (line, expected) => {
    expect(sweepValues(line)).toEqual(expected);
  });

  it('simple choices are marked as such (they give the "Ambiguous value" error in a single run)', () => {
    const v = parseOverride('x=1,2').value;
    expect(v?.kind === 'sweep' && v.sweepType === 'SIMPLE_CHOICE_SWEEP').toBe(true);
    const w = parseOverride('x=choice(1,2)').value;
    expect(w?.kind === 'sweep' && w.sweepType === 'SIMPLE_CHOICE_SWEEP').toBe(false);
  });

  it('glob selects group options with include and exclude patterns', () => {
    expect(sweepValues('db=glob(*)', ['mysql', 'postgresql', 'sqlite'])).toEqual(['mysql', 'postgresql', 'sqlite']);
    expect(sweepValues('db=glob(*,exclude=sqlite)', ['mysql', 'postgresql', 'sqlite'])).toEqual([
      'mysql',
      'postgresql',
    ]);
    expect(sweepValues('db=glob([m*,s*],exclude=sqlite)', ['mysql', 'postgresql', 'sqlite'])).toEqual(['mysql']);
  });

  it("interval is refused by the basic sweeper with Hydra's message", () => {
    expect(() => sweepValues('x=interval(0,1)')).toThrow('BasicSweeper does not support sweep type : INTERVAL_SWEEP');
  });

  it('shuffle gives the same order every time (so --resume finds the jobs) and keeps the values', () => {
    const a = sweepValues('x=shuffle(1,2,3,4,5,6,7,8)');
    expect(sweepValues('x=shuffle(1,2,3,4,5,6,7,8)')).toEqual(a);
    expect(a).not.toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...(a as number[])].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('parse errors name the override', () => {
  it.each([
    // Hydra's own words (checked against Hydra 1.3.5), then bench's hint.
    ['x=A[B', /^mismatched input '\[' expecting <EOF>\n.*\nIn 'x=A\[B': quote a value/],
    ['x=[1,2', /^no viable alternative at input '\[1,2'\n/],
    [
      '+ key=1',
      /^LexerNoViableAltException: \+ key=1\n {28}\^\n.*\ntoken recognition error at: ' ': a key \(before =\) holds/,
    ],
    [
      'batch_size',
      /^Error parsing override 'batch_size'\nmissing EQUAL at '<EOF>'\n.*\nWrite batch_size=VALUE to set it/,
    ],
    [
      'x=foo(1)',
      /HydraException while evaluating 'foo\(1\)': Unknown function 'foo'\nAvailable: bool,choice,core_counts/,
    ],
    ['x=bool("yes")', /ValueError while evaluating 'bool\("yes"\)': Cannot cast 'yes' to bool/],
    ['x=[1,2]]', /^Error parsing override 'x=\[1,2\]\]'\nextraneous input '\]' expecting <EOF>/],
    ['x=int(abc)', /invalid literal for int\(\) with base 10: 'abc'/],
  ])('%s', (line, message) => {
    expect(() => parseOverride(line)).toThrow(message);
  });

  it('quoting makes an otherwise invalid value valid', () => {
    expect(value('x="A[B"')).toBe('A[B');
  });
});

describe('canonical text round-trips through the parser', () => {
  it.each([[1], [-2.5], ['abc'], ['a,b'], ["it's"], [true], [null], [[1, 'a']], [{ a: 1 }], ['10'], ['true']])(
    '%j',
    (v) => {
      expect(value(`x=${elementText(v)}`)).toEqual(v);
    },
  );
});
