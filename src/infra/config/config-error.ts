/**
 * A setting that stops start-up. `problems` holds one line per bad value, each naming the key,
 * the value, where it came from and what is allowed, so the operator fixes all of them at once.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}
