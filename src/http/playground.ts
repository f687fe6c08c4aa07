import type { AltairFastifyPluginOptions } from "altair-fastify-plugin";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export interface PlaygroundOptions {
  /** Off unless asked for: the gateway decides with `config.playground ?? !config.production`. */
  enabled: boolean;
  /** The GraphQL route the IDE talks to, and where browsers are sent to the IDE from. */
  graphqlPath: string;
  /** Where the IDE lives; its assets are served below it. Must end with `/`. */
  path?: string;
}

export const PLAYGROUND_PATH = "/playground/";

const HEALTH_QUERY = `# The CSRF header apollo-require-preflight is already set (see Headers).
# Run with Ctrl+Enter or the Send button.
query Health {
  health {
    status
    provider
    version
    uptimeSeconds
  }
}
`;

const GENERATE_MUTATION = `# Image edits: add files in the Variables pane ("Add files"), name them input.images,
# and pick "multiple files" for more than one. Text-to-image models take no images.
mutation GenerateImages($input: GenerateImagesInput!) {
  generateImages(input: $input) {
    callId
    provider
    model
    seed
    images {
      index
      url
      width
      height
      mimeType
      bytes
    }
    timings {
      inferenceSeconds
      totalMs
    }
  }
}
`;

const JOB_FIELDS = `    id
    status
    model
    createdAt
    startedAt
    finishedAt
    queuePosition
    result {
      callId
      images {
        index
        url
        width
        height
        mimeType
      }
      timings {
        totalMs
      }
    }
    error {
      code
      message
    }`;

const SUBMIT_MUTATION = `# A job: answered at once with QUEUED and its id; the generation runs behind it.
# Copy the id into "Watch a job" (live) or "Job status" (polling). Files go as in "Generate images".
mutation SubmitGeneration($input: GenerateImagesInput!, $idempotencyKey: String) {
  submitGeneration(input: $input, idempotencyKey: $idempotencyKey) {
${JOB_FIELDS}
  }
}
`;

const WATCH_SUBSCRIPTION = `# Live over WebSocket (graphql-ws, same /graphql path): the job's state now, then each change,
# until SUCCEEDED, FAILED or CANCELLED. With client tokens, put {"authorization": "Bearer <token>"}
# in the connection parameters (the subscription settings).
subscription GenerationJobUpdated($id: ID!) {
  generationJobUpdated(id: $id) {
${JOB_FIELDS}
  }
}
`;

const STATUS_QUERY = `# The job's state now: poll this where a WebSocket cannot go.
query GenerationJob($id: ID!) {
  generationJob(id: $id) {
${JOB_FIELDS}
  }
}
`;

const CANCEL_MUTATION = `# A QUEUED job is cancelled (nothing is billed); a RUNNING one cannot be.
mutation CancelGeneration($id: ID!) {
  cancelGeneration(id: $id) {
    id
    status
    error {
      code
      message
    }
  }
}
`;

const JOB_ID_VARIABLES = JSON.stringify({ id: "<the id submitGeneration answered>" }, null, 2);

const GENERATE_VARIABLES = JSON.stringify(
  { input: { model: "Kwai-Kolors/Kolors", prompt: "a lighthouse at dusk, oil painting", imageSize: "1024x1024", batchSize: 1 } },
  null,
  2,
);

/**
 * The page may reach its own origin only: everything Altair needs comes from node_modules through this
 * server, and whatever a future Altair release tries to fetch from elsewhere is refused by the browser.
 * Inline script and style are allowed because Altair's page carries its init snippet and styles inline.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'self'",
  "form-action 'self'",
].join("; ");

function altairOptions(path: string, graphqlPath: string): AltairFastifyPluginOptions {
  const headers = { "apollo-require-preflight": "true" };
  // The gateway speaks graphql-ws on its GraphQL path. Relative, like the endpoint: the browser resolves
  // it against the page (ws: under http:, wss: under https:), under whatever host name it was reached by.
  const subscriptions = { subscriptionsEndpoint: graphqlPath, initialSubscriptionRequestHandlerId: "graphql-ws" as const };
  return {
    path,
    baseURL: path,
    endpointURL: graphqlPath,
    ...subscriptions,
    initialName: "Health",
    initialQuery: HEALTH_QUERY,
    initialVariables: "{}",
    initialHeaders: headers,
    // No endpointURL per window: Altair resolves only the top-level one against the page's origin, so
    // the windows inherit it and the IDE works under whatever host name the gateway is reached by.
    // The last window opens selected: the health query, ready to run.
    initialWindows: [
      { initialName: "Generate images", initialQuery: GENERATE_MUTATION, initialVariables: GENERATE_VARIABLES, initialHeaders: headers },
      { initialName: "Submit a job", initialQuery: SUBMIT_MUTATION, initialVariables: GENERATE_VARIABLES, initialHeaders: headers },
      { initialName: "Watch a job", initialQuery: WATCH_SUBSCRIPTION, initialVariables: JOB_ID_VARIABLES, initialHeaders: headers, ...subscriptions },
      { initialName: "Job status", initialQuery: STATUS_QUERY, initialVariables: JOB_ID_VARIABLES, initialHeaders: headers },
      { initialName: "Cancel a job", initialQuery: CANCEL_MUTATION, initialVariables: JOB_ID_VARIABLES, initialHeaders: headers },
      { initialName: "Health", initialQuery: HEALTH_QUERY, initialVariables: "{}", initialHeaders: headers },
    ],
    // Keeps this IDE's saved tabs apart from any other Altair served on the same host.
    instanceStorageNamespace: "siliconflow_gateway_",
    // Altair's account and cloud sync talk to altairgraphql.dev.
    disableAccount: true,
    initialSettings: {
      "alert.disableUpdateNotification": true,
      "banners.disable": true,
      disablePushNotification: true,
      "plugin.list": [],
      "schema.reloadOnStart": true,
    },
  };
}

/** A browser opening the GraphQL URL: a GET asking for HTML that is not itself a GraphQL GET request. */
function isBrowserVisit(request: FastifyRequest, graphqlPath: string): boolean {
  if (request.method !== "GET" || request.routeOptions.url !== graphqlPath) return false;
  if (!(request.headers.accept ?? "").includes("text/html")) return false;
  const search = request.url.includes("?") ? new URLSearchParams(request.url.slice(request.url.indexOf("?") + 1)) : undefined;
  // `extensions` alone is an automatic persisted query sent by GET.
  return !search || (!search.has("query") && !search.has("extensions"));
}

/**
 * Altair, served from npm packages (no CDN), at `path`; browsers opening the GraphQL URL are sent there.
 * GraphQL GET requests (`?query=`) on the GraphQL URL are left to Apollo.
 */
export async function registerPlayground(fastify: FastifyInstance, options: PlaygroundOptions): Promise<void> {
  if (!options.enabled) return;
  const path = options.path ?? PLAYGROUND_PATH;
  if (!path.endsWith("/")) throw new Error(`playground path must end with "/": ${path}`);

  // In its own scope: the plugin registers @fastify/static, whose reply decorator must not clash with
  // another static plugin elsewhere in the app.
  await fastify.register(async (scope) => {
    scope.addHook("onSend", async (request: FastifyRequest, reply: FastifyReply, payload) => {
      if (request.routeOptions.url === path) {
        reply.header("content-security-policy", CONTENT_SECURITY_POLICY).header("cache-control", "no-store");
      }
      return payload;
    });
    // Loaded only when enabled (off in production): the IDE's module costs about 10 MB of memory.
    const { AltairFastify } = await import("altair-fastify-plugin");
    await scope.register(AltairFastify, altairOptions(path, options.graphqlPath));
    // `/playground` without the slash would miss the page: relative asset URLs need the directory form.
    scope.get(path.slice(0, -1), async (_request, reply) => reply.redirect(path, 301));
  });

  // A callback hook: an async one would cost every GraphQL request a promise to redirect the odd browser.
  fastify.addHook("onRequest", (request, reply, done) => {
    if (isBrowserVisit(request, options.graphqlPath)) reply.redirect(path, 302);
    else done();
  });
}
