/**
 * A tiny IAM policy evaluator for template tests: enough of the real rules to ask "may this caller
 * do this?" of a resource policy. A statement applies when its Principal, Action, Resource and
 * Condition all match (Condition: StringEquals, StringLike, ArnLike, ArnEquals, Bool; every key must be present
 * in the request); an explicit Deny wins over any Allow; no Allow means denied.
 */

export type Principal = { service: string } | { aws: string } | 'anonymous';

export interface Request {
  readonly principal: Principal;
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request, e.g. `aws:SecureTransport: 'true'`. */
  readonly context: Record<string, string>;
}

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Record<string, string | string[]>;
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export type Decision = 'allowed' | 'explicitly denied' | 'implicitly denied';

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** IAM wildcards: `*` any run of characters, `?` exactly one. */
function like(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

function principalMatches(statement: Statement, principal: Principal): boolean {
  const p = statement.Principal;
  if (p === undefined) return false;
  if (p === '*') return true;
  if (list(p.AWS ?? []).includes('*')) return true;
  if (principal === 'anonymous') return false;
  if ('service' in principal) return list(p.Service ?? []).includes(principal.service);
  return list(p.AWS ?? []).some((a) => a === principal.aws || a === `arn:aws:iam::${principal.aws}:root`);
}

const OPERATORS: Record<string, (expected: string, actual: string) => boolean> = {
  StringEquals: (e, a) => e === a,
  StringLike: like,
  ArnLike: like,
  ArnEquals: (e, a) => e === a,
  Bool: (e, a) => e.toLowerCase() === a.toLowerCase(),
  // S3's s3:TlsVersion (the bucket's minimum TLS version); a non-number never matches.
  NumericLessThan: (e, a) => a.trim() !== '' && Number(a) < Number(e),
};

function conditionMatches(statement: Statement, context: Record<string, string>): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) => {
    const test = OPERATORS[operator];
    if (!test) throw new Error(`the evaluator does not know the condition operator ${operator}`);
    return Object.entries(keys).every(([key, expected]) => {
      const actual = context[key];
      return actual !== undefined && list(expected).some((e) => test(e, actual));
    });
  });
}

function applies(statement: Statement, request: Request): boolean {
  return (
    principalMatches(statement, request.principal) &&
    list(statement.Action).some((a) => like(a, request.action)) &&
    list(statement.Resource).some((r) => like(r, request.resource)) &&
    conditionMatches(statement, request.context)
  );
}

export function evaluate(statements: readonly Statement[], request: Request): Decision {
  const matching = statements.filter((s) => applies(s, request));
  if (matching.some((s) => s.Effect === 'Deny')) return 'explicitly denied';
  return matching.some((s) => s.Effect === 'Allow') ? 'allowed' : 'implicitly denied';
}

/**
 * Template intrinsics as concrete strings: pseudo parameters from `pseudo`, `Ref`/`Fn::GetAtt` of
 * resources from `resources` (by logical ID), `Fn::Join` joined, `Fn::Split` and `Fn::Select` as
 * CloudFormation does. Anything else is an error.
 */
export function resolve(
  value: unknown,
  pseudo: Record<string, string>,
  resources: Record<string, string> = {},
): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => resolve(v, pseudo, resources));
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === 'string') {
    const found = pseudo[node.Ref] ?? resources[node.Ref];
    if (found === undefined) throw new Error(`unresolved Ref ${node.Ref}`);
    return found;
  }
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [id, attribute] = node['Fn::GetAtt'] as [string, string];
    const found = resources[`${id}.${attribute}`];
    if (found === undefined) throw new Error(`unresolved Fn::GetAtt ${id}.${attribute}`);
    return found;
  }
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(p, pseudo, resources)).join(delimiter);
  }
  if (Array.isArray(node['Fn::Split'])) {
    const [delimiter, source] = node['Fn::Split'] as [string, unknown];
    return String(resolve(source, pseudo, resources)).split(delimiter);
  }
  if (Array.isArray(node['Fn::Select'])) {
    const [index, list] = node['Fn::Select'] as [number | string, unknown];
    const values = resolve(list, pseudo, resources) as unknown[];
    const found = values[Number(index)];
    if (found === undefined) throw new Error(`Fn::Select ${index} out of range`);
    return found;
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, pseudo, resources)]));
}

/**
 * An identity-based request: what a role's own policies are asked (no Principal in the statements).
 * Multi-valued condition keys (Route 53's record names and types) are lists.
 */
export interface IdentityRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | readonly string[]>;
}

/**
 * Evaluates a role's identity policies (statements without Principal), as IAM does within one
 * account: an explicit Deny wins, else any matching Allow, else implicitly denied. Actions compare
 * case-insensitively. Conditions: StringEquals, StringLike, ArnLike, ArnEquals, Bool, each also as
 * `ForAllValues:` (every request value matches one of the policy's; a key absent from the request
 * matches, as in IAM) and `ForAnyValue:` (some request value matches).
 */
export function evaluateIdentity(statements: readonly Statement[], request: IdentityRequest): Decision {
  const matching = statements.filter(
    (s) =>
      list(s.Action).some((a) => like(a.toLowerCase(), request.action.toLowerCase())) &&
      list(s.Resource).some((r) => like(r, request.resource)) &&
      identityConditionMatches(s, request.context ?? {}),
  );
  if (matching.some((s) => s.Effect === 'Deny')) return 'explicitly denied';
  return matching.some((s) => s.Effect === 'Allow') ? 'allowed' : 'implicitly denied';
}

const IDENTITY_OPERATORS: Record<string, (expected: string, actual: string) => boolean> = {
  ...OPERATORS,
  ArnEquals: (e, a) => e === a,
};

function identityConditionMatches(
  statement: Statement,
  context: Record<string, string | readonly string[]>,
): boolean {
  return Object.entries(statement.Condition ?? {}).every(([qualified, keys]) => {
    const [qualifier, operator] = qualified.includes(':')
      ? (qualified.split(':', 2) as [string, string])
      : [undefined, qualified];
    const test = IDENTITY_OPERATORS[operator];
    if (!test) throw new Error(`the evaluator does not know the condition operator ${qualified}`);
    return Object.entries(keys).every(([key, expected]) => {
      const actual = context[key];
      const values = actual === undefined ? undefined : typeof actual === 'string' ? [actual] : [...actual];
      const matchesOne = (v: string) => list(expected).some((e) => test(e, v));
      if (qualifier === 'ForAllValues') return (values ?? []).every(matchesOne);
      if (qualifier === 'ForAnyValue') return (values ?? []).some(matchesOne);
      if (qualifier !== undefined) throw new Error(`the evaluator does not know ${qualified}`);
      return values !== undefined && values.length === 1 && matchesOne(values[0] as string);
    });
  });
}
