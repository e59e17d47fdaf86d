import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compose } from '../../src/config/compose.js';
import { parseOverride } from '../../src/config/grammar.js';
import { HYDRA_DEFAULTS, taskConfig } from '../../src/config/hydra.js';
import { resolveAll } from '../../src/config/interpolate.js';
import { ConfigRepository } from '../../src/config/repository.js';
import { parseYaml } from '../../src/config/yaml.js';
import { merge, type Tree } from '../../src/util/tree.js';

const APP = join(import.meta.dirname, '..', 'fixtures', 'configs', 'app');
const EXTRA = join(import.meta.dirname, '..', 'fixtures', 'configs', 'extra');

function composeApp(overrides: string[], configName = 'config', extra = false): Tree {
  const repo = new ConfigRepository([
    { provider: 'main', path: APP },
    ...(extra ? [{ provider: 'command-line', path: EXTRA }] : []),
  ]);
  const comp = compose(repo, { configName, overrides: overrides.map(parseOverride), hydraDefaults: HYDRA_DEFAULTS });
  return taskConfig(comp.config);
}

const composeError = (overrides: string[], configName = 'config'): string => {
  try {
    composeApp(overrides, configName);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

describe('composition: defaults list and group overrides', () => {
  it.each<[string, string[], string, unknown]>([
    ['defaults are merged', [], 'db.driver', 'mysql'],
    ['group=option swaps the option', ['db=postgresql'], 'db.timeout', 10],
    ['a swapped option drops the old keys', ['db=postgresql'], 'db.pass', undefined],
    [
      '+group=option appends, and an experiment overrides an earlier choice',
      ['+experiment=fast'],
      'db.driver',
      'postgresql',
    ],
    ['the experiment content lands at the root (_global_)', ['+experiment=fast'], 'app.port', 9000],
    ['the command line beats an override in a file', ['+experiment=fast', 'db=sqlite'], 'db.driver', 'sqlite'],
    ['~group removes the group', ['~db'], 'db', undefined],
    ['~group=option removes it when the option matches', ['~db=mysql'], 'db', undefined],
    [
      'a list selects several options, merged in order',
      ['db=[mysql,sqlite]'],
      'db',
      { driver: 'sqlite', user: 'root', pass: 'secret', file: 'db.sqlite' },
    ],
    [
      'a dict on a group name edits the value, not the choice',
      ['db={driver: x}'],
      'db',
      { driver: 'x', user: 'root', pass: 'secret' },
    ],
    ['a nested config defaults list places @pkg under its parent', [], 'server.backup.driver', 'sqlite'],
    ['a nested group default is swapped from the command line', ['server=nginx'], 'server.port', 8000],
    [
      'a relative nested group lands under its parent package',
      ['server=tomcat'],
      'server.cache',
      { host: 'localhost', ttl_s: 60 },
    ],
    [
      'group@pkg=option moves its nested groups along, without a clash',
      ['server=tomcat', '+server@alt=tomcat'],
      'alt.cache.host',
      'localhost',
    ],
    ['_self_ left out goes last: content beats defaults', [], 'db.user', 'root'],
    ['-cd adds options to a group', ['db=oracle'], 'db.driver', 'oracle'],
  ])('%s', (_name, overrides, key, expected) => {
    const extra = overrides.includes('db=oracle');
    const cfg = composeApp(overrides, 'config', extra);
    const value = key.split('.').reduce<unknown>((n, k) => (n as Tree | undefined)?.[k], cfg);
    expect(value).toEqual(expected);
  });

  it('the primary search path wins over -cd for the same option', () => {
    expect(composeApp(['db=mysql'], 'config', true).db).toMatchObject({ driver: 'mysql' });
  });

  it('content without _self_ is merged after the defaults', () => {
    expect(composeApp([], 'no_self').db).toEqual({ driver: 'mysql', user: 'admin', pass: 'secret' });
  });

  it('a # @package _global_ header after a comment puts content at the root', () => {
    expect(composeApp(['+pkg=global']).top_level_key).toBe(1);
  });

  it('YAML 1.1 booleans are read as booleans, as OmegaConf does', () => {
    expect((composeApp([]).app as Tree).flag).toBe(true);
  });
});

describe('composition: config value overrides (struct mode)', () => {
  it.each<[string, string[], string, unknown]>([
    ['key=value changes a value', ['app.port=1'], 'app.port', 1],
    ['+key adds a new key', ['+app.extra=1'], 'app.extra', 1],
    ['++key replaces an existing key', ['++app.port=2'], 'app.port', 2],
    ['++key creates parents', ['++app.new.deep=3'], 'app.new.deep', 3],
    ['~key deletes', ['~app.port'], 'app.port', undefined],
    ['~key=value deletes when the value matches', ['~app.port=8080'], 'app.port', undefined],
    ['lists are replaced, not merged', ['app.list=[3]'], 'app.list', [3]],
    ['dicts are merged into the node', ['app={port: 1}'], 'app.name', 'demo'],
    ['an empty value is an empty string', ['app.name='], 'app.name', ''],
    ['list items are addressed by index', ['app.list.0=9'], 'app.list', [9, 2]],
    ['later overrides win', ['app.port=1', 'app.port=2'], 'app.port', 2],
    ['+key on a null value is allowed', ['app.name=null', '+app.name=x'], 'app.name', 'x'],
  ])('%s', (_name, overrides, key, expected) => {
    const cfg = composeApp(overrides);
    const value = key.split('.').reduce<unknown>((n, k) => (n as Tree | undefined)?.[k], cfg);
    expect(value).toEqual(expected);
  });
});

describe("composition errors carry Hydra's messages", () => {
  it.each<[string, string[], string, string]>([
    [
      'unknown key',
      ['app.nokey=1'],
      'config',
      "Could not override 'app.nokey'.\nTo append to your config use +app.nokey=1\nKey 'nokey' is not in struct\n    full_key: app.nokey\n    object_type=dict",
    ],
    [
      'append on an existing key',
      ['+app.port=1'],
      'config',
      "Could not append to config. An item is already at 'app.port'.\nEither remove + prefix: 'app.port=1'\nOr add a second + to add or override 'app.port': '++app.port=1'",
    ],
    ['delete of a missing key', ['~app.nokey'], 'config', "Could not delete from config. 'app.nokey' does not exist."],
    [
      'delete with the wrong value',
      ['~app.port=1'],
      'config',
      "Could not delete from config. The value of 'app.port' is 8080 and not 1.",
    ],
    [
      'unknown option',
      ['db=nosuch'],
      'config',
      "Could not find 'db/nosuch'\n\nAvailable options in 'db':\n\tmysql\n\tpostgresql\n\tsqlite",
    ],
    [
      'group not in the defaults list',
      ['experiment=fast'],
      'config',
      "Could not override 'experiment'. No match in the defaults list.\nTo append to your default list use +experiment=fast",
    ],
    [
      'delete of a group option that is not chosen',
      ['~db=sqlite'],
      'config',
      "Could not delete 'db=sqlite'. No match in the defaults list",
    ],
    [
      '@pkg on something that is not a group',
      ['nogroup@pkg=x'],
      'config',
      "Override nogroup@pkg=x looks like a config group override, but config group 'nogroup' does not exist.",
    ],
    ['a number as a group option', ['db=1'], 'config', 'Config group override must be a string or a list. Got int'],
    ['force-add of a group', ['++db=mysql'], 'config', "force-add of config groups is not supported: '++db=mysql'"],
    [
      'a simple sweep in a single run',
      ['app.port=1,2'],
      'config',
      "Ambiguous value for argument 'app.port=1,2'\n1. To use it as a list, use key=[value1,value2]\n2. To use it as string, quote the value: key='value1,value2'\n3. To sweep over it, add --multirun to your command line",
    ],
    [
      'another sweep in a single run',
      ['app.port=range(1,3)'],
      'config',
      "Sweep parameters 'app.port=range(1,3)' requires --multirun",
    ],
    [
      'a mandatory group option',
      [],
      'mandatory',
      "You must specify 'db', e.g, db=<OPTION>\nAvailable options:\n\tmysql\n\tpostgresql\n\tsqlite",
    ],
    [
      'an override before a plain entry',
      [],
      'bad_order',
      "In bad_order: Override 'override db: sqlite' is defined before 'server: apache'.\nOverrides must be at the end of the defaults list",
    ],
    ['_self_ twice', [], 'dup_self', 'Duplicate _self_ defined in dup_self'],
    ['a group twice', [], 'dup_group', "Multiple values for db. To override a value use 'override db: mysql'"],
    ['malformed YAML names the file and line', [], 'broken', 'broken.yaml:5:1: Flow sequence'],
    ['duplicate keys are refused', [], 'dupkey', 'dupkey.yaml'],
    ['object-building tags are refused', [], 'tagged', 'tagged.yaml'],
    ['a missing primary config', [], 'nosuch', "Cannot find primary config 'nosuch'"],
  ])('%s', (_name, overrides, configName, message) => {
    expect(composeError(overrides, configName)).toContain(message);
  });

  it('a mandatory group option can be given on the command line', () => {
    expect(composeApp(['db=sqlite'], 'mandatory').db).toMatchObject({ driver: 'sqlite' });
  });

  it('a missing -cd folder is reported', () => {
    expect(() => new ConfigRepository([{ provider: 'command-line', path: '/nonexistent/dir' }])).toThrow(
      "Additional config directory '/nonexistent/dir' not found",
    );
  });
});

describe('interpolation after composition', () => {
  const resolved = (overrides: string[] = []): Tree =>
    resolveAll(composeApp(overrides), { env: { HOME: '/home/u' } }) as Tree;

  it('keeps the type of a value that is exactly one interpolation', () => {
    expect((resolved().app as Tree).ref).toBe(8080);
  });

  it('turns mixed text into a string', () => {
    expect((resolved().app as Tree).url).toBe('http://demo:8080/');
  });

  it('resolves relative keys against the node that holds the value', () => {
    expect((resolved().app as Tree).rel).toBe(8080);
  });

  it('sees command-line overrides', () => {
    expect((resolved(['app.port=1']).app as Tree).url).toBe('http://demo:1/');
  });
});

describe('keys that would reach the object prototype are refused', () => {
  const polluted = (): unknown => (Object.prototype as Record<string, unknown>).polluted;

  it.each([
    ['++__proto__.polluted=1'],
    ['+db.__proto__.polluted=1'],
    ['++constructor.prototype.polluted=1'],
    ['++x={__proto__: {polluted: 1}}'],
  ])('%s', (override) => {
    expect(() => composeApp([override])).toThrow(/cannot be a config key/);
    expect(polluted()).toBeUndefined();
  });

  it('in a YAML file, at any depth, naming the file and the key', () => {
    expect(() => parseYaml('a:\n  b:\n    __proto__:\n      polluted: 1\n', 'evil.yaml')).toThrow(
      "evil.yaml (key a.b.__proto__): '__proto__' cannot be a config key",
    );
    expect(() => parseYaml('list:\n  - constructor: 1\n', 'evil.yaml')).toThrow('(key list.0.constructor)');
    expect(polluted()).toBeUndefined();
  });

  it('in a merge of trees built elsewhere', () => {
    const src = JSON.parse('{"__proto__": {"polluted": 1}}') as Tree;
    expect(() => merge({}, src)).toThrow(/cannot be a config key/);
    expect(polluted()).toBeUndefined();
  });
});
