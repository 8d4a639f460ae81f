/**
 * Compiled validators per message type. The hot path is one compiled `Check`; the slower
 * error walk runs only after a check failed, to name the offending field.
 */
import { Kind, type TObject, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { describeExpected, describeGot, explainError, type FieldError } from './describe';

export interface MessageValidator {
  check(value: Record<string, unknown>): boolean;
  explain(value: Record<string, unknown>): FieldError;
}

function firstError(checker: TypeCheck<TSchema>, value: unknown): FieldError {
  const error = checker.Errors(value).First();
  return error ? explainError(error) : { message: 'frame: does not match the message schema' };
}

function single(schema: TSchema): MessageValidator {
  const checker = TypeCompiler.Compile(schema);
  return { check: (v) => checker.Check(v), explain: (v) => firstError(checker, v) };
}

/** The property (other than `type`) whose literal value tells the union's variants apart. */
function discriminatorOf(variants: TObject[]): string | undefined {
  const first = variants[0];
  if (!first) return undefined;
  return Object.keys(first.properties).find((key) => {
    if (key === 'type') return false;
    const consts = variants.map((v) => v.properties[key]);
    if (!consts.every((s) => s !== undefined && s[Kind] === 'Literal')) return false;
    return new Set(consts.map((s) => s!.const)).size === variants.length;
  });
}

/**
 * A union like job_result (success true | false): the failure is explained against the
 * variant the frame claims to be, not as an unhelpful "expected union value".
 */
function discriminated(union: TUnion): MessageValidator {
  const variants = union.anyOf as TObject[];
  const key = discriminatorOf(variants);
  if (key === undefined) throw new Error('union message schema needs a literal discriminator');
  const all = TypeCompiler.Compile(union);
  const byValue = new Map(variants.map((v) => [v.properties[key]!.const, TypeCompiler.Compile(v)]));
  const keyValues = variants.map((v) => v.properties[key]!.const);
  // `success: true|false` reads better as "boolean" than as a list of literals.
  const keySchema: TSchema = keyValues.every((c) => typeof c === 'boolean')
    ? Type.Boolean()
    : Type.Union(variants.map((v) => v.properties[key]!));
  return {
    check: (v) => all.Check(v),
    explain: (v) => {
      const variant = byValue.get(v[key]);
      if (variant) return firstError(variant, v);
      const value = v[key];
      if (value === undefined)
        return { field: key, message: `${key}: missing, expected ${describeExpected(keySchema)}` };
      const got = describeGot({ type: ValueErrorType.Union, schema: keySchema, value });
      return { field: key, message: `${key}: expected ${describeExpected(keySchema)}, got ${got}` };
    },
  };
}

/** Compiles every schema of one direction; done once at module load. */
export function compileDirection(
  schemas: Readonly<Record<string, TSchema>>,
): ReadonlyMap<string, MessageValidator> {
  const out = new Map<string, MessageValidator>();
  for (const [type, schema] of Object.entries(schemas)) {
    out.set(type, schema[Kind] === 'Union' ? discriminated(schema as TUnion) : single(schema));
  }
  return out;
}
