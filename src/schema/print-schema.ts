import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildGatewaySchema, resolverClasses } from "./build-schema.js";

/**
 * Stands in for a resolver instance when the schema is only printed: type-graphql looks instances up
 * at resolve time, so any touch means something tried to execute, which printing never should.
 */
function unusedInstance(name: string): object {
  return new Proxy(
    {},
    {
      get(_target, property) {
        throw new Error(`${name}.${String(property)} was used while building the schema for printing`);
      },
    },
  );
}

/** The schema the server serves, with resolvers that are never called. */
export function buildPrintableSchema(): Promise<GraphQLSchema> {
  return buildGatewaySchema(new Map(resolverClasses.map((resolverClass) => [resolverClass, unusedInstance(resolverClass.name)] as const)));
}

/**
 * The SDL committed as `schema.graphql`. Sorted, so reordering classes or fields in the code does not
 * churn the contract file that clients generate from.
 */
export async function printGatewaySchema(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await buildPrintableSchema()))}\n`;
}
