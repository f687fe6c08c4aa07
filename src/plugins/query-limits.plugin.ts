import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, visit, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from "graphql";
import { getComplexity, simpleEstimator } from "graphql-query-complexity";
import { ErrorCode } from "../services/errors.js";

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  maxGenerations: number;
}

function depthOf(selectionSet: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, fragments, seen) : 1);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(selection.selectionSet, fragments, seen));
    } else {
      const name = selection.name.value;
      // A fragment spread cycle is refused by validation already; this only guards the walk.
      if (seen.has(name)) continue;
      const fragment = fragments.get(name);
      deepest = Math.max(deepest, depthOf(fragment?.selectionSet, fragments, new Set([...seen, name])));
    }
  }
  return deepest;
}

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

/** Shape limits on the operation, checked once it is resolved and before anything runs. */
export function queryLimitsPlugin(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin {
  // Apollo hands the same DocumentNode for the same query text (its document cache): measure each once.
  const measured = new WeakMap<DocumentNode, Map<string, Measured> | null>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) return;
          let perOperation = measured.get(document);
          if (perOperation === undefined) {
            perOperation = hasConditionalDirectives(document) ? null : new Map();
            measured.set(document, perOperation);
          }
          const cached = perOperation?.get(request.operationName ?? "");
          if (cached) {
            if (cached.complexity > limits.maxComplexity) {
              throw refuse(`The query's complexity is ${cached.complexity}; at most ${limits.maxComplexity} is allowed`);
            }
            return;
          }
          const fragments = new Map(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const depth = depthOf(operation.selectionSet, fragments, new Set());
          if (depth > limits.maxDepth) throw refuse(`The query is ${depth} levels deep; at most ${limits.maxDepth} are allowed`);

          const generations = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && s.name.value === "generateImages").length;
          if (generations > limits.maxGenerations) {
            throw refuse(`An operation may hold at most ${limits.maxGenerations} generateImages calls, this one has ${generations}`);
          }

          let complexity: number;
          try {
            complexity = getComplexity({
              schema,
              query: document,
              operationName: request.operationName ?? undefined,
              variables: request.variables ?? {},
              estimators: [simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch {
            // Variables that do not fit their types: execution refuses them next, with Apollo's own code.
            return;
          }
          perOperation?.set(request.operationName ?? "", { complexity });
          if (complexity > limits.maxComplexity) {
            throw refuse(`The query's complexity is ${complexity}; at most ${limits.maxComplexity} is allowed`);
          }
        },
      };
    },
  };
}
