import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_DEFAULTS, ConfigError, parseConfig, type DrConfig } from '../config';
import { drNames } from '../names';
import { UsageError } from './usage-error';

/**
 * Option defaults taken from the CDK app's config, so a deployment with its own `resourcePrefix` or regions
 * needs no flags: `dr --config <file>` names the config, or `./cdk.json` when there is one with a `dr` context
 * (dr run from the app's folder). What the command line gives always wins; without a config the built-in
 * defaults (the `pg-dr` names) stay.
 */

/** How a default follows from the config. */
export type DerivedDefault = (config: DrConfig) => string;

/** Defaults the config gives, by option, as commands declare them. */
const derived = new WeakMap<Command, Map<string, DerivedDefault>>();

/** Declares that `command`'s option (its attribute name) defaults to what the config says. */
export function defaultFromConfig(command: Command, attribute: string, derive: DerivedDefault): Command {
  const own = derived.get(command) ?? new Map<string, DerivedDefault>();
  own.set(attribute, derive);
  derived.set(command, own);
  return command;
}

/** The derivations the commands use, each stated once. */
export const FROM_CONFIG = {
  orchestrationStack: (c: DrConfig) => drNames(c).stacks.orchestration,
  failoverDnsStack: (c: DrConfig) => drNames(c).stacks.failoverDns,
  drillSchedule: (c: DrConfig) => drNames(c).drillSchedule,
  resourcePrefix: (c: DrConfig) => c.resourcePrefix,
  orchestrationRegion: (c: DrConfig) => c.orchestrationRegion,
  secondaryStack: (c: DrConfig) => drNames(c).stacks.secondary,
  secondaryRegion: (c: DrConfig) => c.secondaryRegion,
  primaryInstance: (c: DrConfig) => c.database.primaryInstanceIdentifier,
  databaseName: (c: DrConfig) => c.database.databaseName,
  replicationSecret: (c: DrConfig) => c.database.replicationSecretName,
} as const;

/** The region option: the config's orchestration region goes with the config's stack names. */
const REGION = 'region';
const STACK = 'stack';

/**
 * The config to take defaults from: the file given, or `./cdk.json` when it holds a `dr` context, or none.
 * A config that is there but invalid is a usage error: defaults from a guess could name another deployment.
 */
export function findConfig(given: string | undefined, cwd = process.cwd()): DrConfig | undefined {
  const file = given ?? 'cdk.json';
  const path = resolve(cwd, file);
  if (given === undefined && !existsSync(path)) return undefined;
  let context: { dr?: unknown } | undefined;
  try {
    context = (JSON.parse(readFileSync(path, 'utf8')) as { context?: { dr?: unknown } }).context;
  } catch {
    throw new UsageError(`--config: cannot read ${file} as JSON (give the CDK app config, cdk.json)`);
  }
  if (context?.dr === undefined) {
    if (given === undefined) return undefined;
    throw new UsageError(`--config: ${file} has no "dr" context (give the CDK app config, cdk.json)`);
  }
  try {
    return parseAppConfig(context.dr, path);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new UsageError(`--config: ${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * The `dr` context of the CDK app config at `path`, validated as `cdk synth` validates it: its relative
 * `migrationsDirectory` is relative to the app (the config's folder), wherever `dr` runs from.
 */
export function parseAppConfig(raw: unknown, path: string): DrConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return parseConfig(raw);
  const given = (raw as { migrationsDirectory?: unknown }).migrationsDirectory;
  const folder = typeof given === 'string' ? given : CONFIG_DEFAULTS.migrationsDirectory;
  return parseConfig({ ...raw, migrationsDirectory: resolve(dirname(path), folder) });
}

/**
 * Sets each option of `command` that the command line left at its built-in default (or unset) to what the
 * config derives, reading the config only when one such option exists. The region goes with the stack: the
 * config's orchestration region is where the config's stacks are, whatever `AWS_REGION` or a profile says,
 * unless `--region` is given, or `--stack` names a stack of its own (then the shell's region applies).
 */
export function applyConfigDefaults(command: Command, config: () => DrConfig | undefined): void {
  const own = derived.get(command);
  if (own === undefined) return;
  const open = [...own].filter(([attribute]) => {
    const source = command.getOptionValueSource(attribute);
    if (source !== undefined && source !== 'default') return false;
    if (attribute !== REGION) return true;
    return command.getOptionValue(REGION) === undefined && command.getOptionValueSource(STACK) !== 'cli';
  });
  if (open.length === 0) return;
  const found = config();
  if (found === undefined) return;
  for (const [attribute, derive] of open)
    command.setOptionValueWithSource(attribute, derive(found), 'config');
}
