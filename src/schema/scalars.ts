import { SafeIntResolver } from "graphql-scalars";
import { GraphQLUpload } from "graphql-upload-minimal";

/** SiliconFlow's seed reaches 9 999 999 999, past GraphQL's 32-bit Int. */
export const SafeInt = SafeIntResolver;
/** The multipart request spec's file scalar. */
export const Upload = GraphQLUpload;
/** ISO 8601 instants (job times), named `DateTime` as the job contract spells it. */
export { DateTimeResolver as DateTime } from "graphql-scalars";
