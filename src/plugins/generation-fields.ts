import { Kind, OperationTypeNode, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionNode, type SelectionSetNode } from "graphql";

export const GENERATE_FIELD = "generateImages";
/** A job is a paid call as well, run later: it counts as one wherever generations are counted. */
export const SUBMIT_FIELD = "submitGeneration";
const PAID_FIELDS: ReadonlySet<string> = new Set([GENERATE_FIELD, SUBMIT_FIELD]);

export type FragmentMap = ReadonlyMap<string, FragmentDefinitionNode>;

export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
}

/**
 * False only when @skip/@include surely leave the selection out. A condition that cannot be read (a
 * variable of the wrong type, say) counts as included: the cap errs on refusing, never on paying.
 */
function mayRun(selection: SelectionNode, variables: Readonly<Record<string, unknown>>): boolean {
  for (const directive of selection.directives ?? []) {
    const name = directive.name.value;
    if (name !== "skip" && name !== "include") continue;
    const value = directive.arguments?.find((a) => a.name.value === "if")?.value;
    let condition: unknown;
    if (value?.kind === Kind.BOOLEAN) condition = value.value;
    else if (value?.kind === Kind.VARIABLE) condition = variables[value.name.value];
    if (typeof condition !== "boolean") continue;
    if (name === "skip" && condition) return false;
    if (name === "include" && !condition) return false;
  }
  return true;
}

function collect(
  selectionSet: SelectionSetNode,
  fragments: FragmentMap,
  variables: Readonly<Record<string, unknown>>,
  keys: Set<string>,
  walked: Set<string>,
): void {
  for (const selection of selectionSet.selections) {
    if (!mayRun(selection, variables)) continue;
    if (selection.kind === Kind.FIELD) {
      if (PAID_FIELDS.has(selection.name.value)) keys.add(selection.alias?.value ?? selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      // On the mutation root every valid type condition matches: the root is an object type.
      collect(selection.selectionSet, fragments, variables, keys, walked);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // A fragment adds the same keys wherever it is spread: walking each once keeps fragments spread
      // over and over (2 ** 30 spreads in a few hundred bytes) linear, and ends a cycle.
      if (!fragment || walked.has(name)) continue;
      walked.add(name);
      collect(fragment.selectionSet, fragments, variables, keys, walked);
    }
  }
}

/**
 * The response keys (alias, else the name) of every generateImages and submitGeneration that would execute in the operation,
 * reached directly, through inline fragments or through named fragment spreads. Fields sharing a response
 * key are merged by GraphQL into one execution, so they count once. Used both to cap the calls of one
 * operation and to log each call of a refused one, so the two cannot disagree.
 */
export function generationFields(
  document: DocumentNode | undefined,
  operation: OperationDefinitionNode | undefined,
  variables: Readonly<Record<string, unknown>> = {},
): string[] {
  if (!operation || operation.operation !== OperationTypeNode.MUTATION) return [];
  const keys = new Set<string>();
  collect(operation.selectionSet, document ? fragmentsOf(document) : new Map(), variables, keys, new Set());
  return [...keys];
}
