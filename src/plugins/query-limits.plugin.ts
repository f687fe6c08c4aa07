import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";
import { ErrorCode } from "../errors.js";
import { fragmentsOf, generationFields, type FragmentMap } from "./generation-fields.js";

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  maxGenerations: number;
}

/**
 * How deep a `__schema`/`__type` selection may go, whatever `maxDepth` says. The standard documents are
 * 13 (Altair; GraphiQL and graphql-js before 16's deeper type references) to 15 levels (graphql-js 16's
 * getIntrospectionQuery with every option): an IDE or codegen must get its schema. 20 leaves room for a
 * tool asking a few more `ofType` levels, and still refuses a document built to make the server walk
 * type references for nothing (40 nested `ofType`, say).
 */
export const INTROSPECTION_MAX_DEPTH = 20;

/**
 * What one `__schema`/`__type` field counts toward `maxComplexity` at most. The full introspection
 * document scores about 230 fields, all answered from the schema in memory; counted in full it would use
 * a quarter of the default budget and refuse IDEs under a tighter one. Counted as at most this, one
 * introspection passes any sensible limit, and a document repeating `__schema` under many aliases still
 * meets the limit.
 */
export const INTROSPECTION_MAX_COMPLEXITY = 25;

/** graphql-query-complexity's own default, named so the refusal can say it. */
const MAX_QUERY_NODES = 10_000;
/** What graphql-query-complexity 2.0 throws past `maxQueryNodes`. */
const NODE_LIMIT_MESSAGE = "Query exceeds the maximum allowed number of nodes";

const INTROSPECTION_ROOTS: ReadonlySet<string> = new Set([SchemaMetaFieldDef.name, TypeMetaFieldDef.name]);

/**
 * Depth of a selection set. A fragment is as deep wherever it is spread, so each is measured once: a
 * document spreading fragments over and over (2 ** 30 spreads in a few hundred bytes) stays linear.
 */
function depthOf(selectionSet: SelectionSetNode | undefined, fragments: FragmentMap, memo: Map<string, number>): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, fragments, memo) : 1);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(selection.selectionSet, fragments, memo));
    } else {
      const name = selection.name.value;
      let depth = memo.get(name);
      if (depth === undefined) {
        // Set first: a spread cycle (refused by validation already) then ends the walk.
        memo.set(name, 0);
        depth = depthOf(fragments.get(name)?.selectionSet, fragments, memo);
        memo.set(name, depth);
      }
      deepest = Math.max(deepest, depth);
    }
  }
  return deepest;
}

/** The operation's root fields, through the fragments and inline fragments that hold them, each fragment once. */
function rootFields(selectionSet: SelectionSetNode, fragments: FragmentMap, walked: Set<string>, into: FieldNode[] = []): FieldNode[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) into.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) rootFields(selection.selectionSet, fragments, walked, into);
    else if (!walked.has(selection.name.value)) {
      walked.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) rootFields(fragment.selectionSet, fragments, walked, into);
    }
  }
  return into;
}

/** Depth of the ordinary fields, and apart from it the depth of the introspection ones (only ever at the root). */
function depths(selectionSet: SelectionSetNode, fragments: FragmentMap): { regular: number; introspection: number } {
  let regular = 0;
  let introspection = 0;
  const memo = new Map<string, number>();
  for (const field of rootFields(selectionSet, fragments, new Set())) {
    const depth = field.selectionSet ? 1 + depthOf(field.selectionSet, fragments, memo) : 1;
    if (INTROSPECTION_ROOTS.has(field.name.value)) introspection = Math.max(introspection, depth);
    else regular = Math.max(regular, depth);
  }
  return { regular, introspection };
}

const introspectionEstimator: ComplexityEstimator = ({ field, childComplexity }) =>
  INTROSPECTION_ROOTS.has(field.name) ? Math.min(1 + childComplexity, INTROSPECTION_MAX_COMPLEXITY) : undefined;

function refuse(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } } });
}

interface Measured {
  complexity: number;
}

/** True when @skip/@include appear: only then do variables change what the simple estimator counts. */
function hasConditionalDirectives(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === "skip" || node.name.value === "include") found = true;
    },
  });
  return found;
}

export interface CheckedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | undefined;
}

/**
 * The shape limits on one operation; throws the refusal. Apollo's plugin and the WebSocket server both
 * check with one, so a subscription document meets the same depth and complexity limits as a query.
 */
export function queryLimitChecker(schema: GraphQLSchema, limits: QueryLimits): (checked: CheckedOperation) => void {
  // The same DocumentNode comes back for the same query text (Apollo's document cache): measure each once.
  const measured = new WeakMap<DocumentNode, Map<string, Measured> | null>();
  return ({ document, operation, operationName, variables }) => {
    let perOperation = measured.get(document);
    if (perOperation === undefined) {
      perOperation = hasConditionalDirectives(document) ? null : new Map();
      measured.set(document, perOperation);
    }
    const cached = perOperation?.get(operationName ?? "");
    if (cached) {
      if (cached.complexity > limits.maxComplexity) {
        throw refuse(`The query's complexity is ${cached.complexity}; at most ${limits.maxComplexity} is allowed`);
      }
      return;
    }
    const fragments = fragmentsOf(document);
    const depth = depths(operation.selectionSet, fragments);
    if (depth.regular > limits.maxDepth) throw refuse(`The query is ${depth.regular} levels deep; at most ${limits.maxDepth} are allowed`);
    if (depth.introspection > INTROSPECTION_MAX_DEPTH) {
      throw refuse(`The introspection query is ${depth.introspection} levels deep; at most ${INTROSPECTION_MAX_DEPTH} are allowed`);
    }

    const generations = generationFields(document, operation, variables ?? {}).length;
    if (generations > limits.maxGenerations) {
      throw refuse(`An operation may hold at most ${limits.maxGenerations} generateImages calls, this one has ${generations} (each submitGeneration counts as one)`);
    }

    let complexity: number;
    try {
      complexity = getComplexity({
        schema,
        query: document,
        operationName: operationName ?? undefined,
        variables: variables ?? {},
        maxQueryNodes: MAX_QUERY_NODES,
        // A field's own cost (dataUrl's, set in its schema definition) before the one-per-field default.
        estimators: [introspectionEstimator, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      });
    } catch (error) {
      // The walk stops at graphql-query-complexity's node limit (fragments spread over and over can
      // make a small document huge): that is a refusal, not a pass.
      if (error instanceof Error && error.message.startsWith(NODE_LIMIT_MESSAGE)) {
        throw refuse(`The query has more than ${MAX_QUERY_NODES} fields once its fragments are spread`);
      }
      // Variables that do not fit their types: execution refuses them next, with its own code.
      return;
    }
    perOperation?.set(operationName ?? "", { complexity });
    if (complexity > limits.maxComplexity) {
      throw refuse(`The query's complexity is ${complexity}; at most ${limits.maxComplexity} is allowed`);
    }
  };
}

/** Shape limits on the operation, checked once it is resolved and before anything runs. */
export function queryLimitsPlugin(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin {
  const check = queryLimitChecker(schema, limits);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) return;
          check({ document, operation, operationName: request.operationName, variables: request.variables });
        },
      };
    },
  };
}
