import fastJson from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { z } from 'zod';

/**
 * Compiles each route's Zod response schema into a fast-json-stringify serialiser, once, on
 * the route's first response: compiled at start-up, the ~150 serialisers of the API held
 * 2.4 MB of generated source (and their code) in every process, most of them for routes a
 * given process rarely or never answers. Only the properties the schema names are written, so a presenter can never
 * leak a field the contract does not list, and a missing required property fails loudly.
 * Unlike a Zod parse per response, it does not re-validate formats: presenters are typed
 * against the same schemas, and the cost matters on every request.
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) =>
  compileSerializer(schema);

/** The serialiser the routes use for `schema`, for code that renders a response ahead of time. */
export function compileSerializer(schema: z.ZodType): (value: unknown) => string {
  let compiled: ((value: unknown) => string) | undefined;
  return (value) => {
    compiled ??= compile(schema);
    return compiled(value);
  };
}

function compile(schema: z.ZodType): (value: unknown) => string {
  const jsonSchema = z.toJSONSchema(schema, {
    io: 'output',
    target: 'draft-07',
    unrepresentable: 'any',
    // A fresh registry: inline every schema instead of emitting $refs to shared ids.
    metadata: z.registry(),
  });
  return fastJson(jsonSchema as Parameters<typeof fastJson>[0]);
}
