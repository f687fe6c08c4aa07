import type { ApolloClient } from "@apollo/client";
import { CombinedGraphQLErrors } from "@apollo/client";
import { cancelJob, fetchJob, submitGeneration, watchJob, type GenerateImagesInput, type ImageModel, type Job } from "./api.js";
import { ui } from "./elements.js";
import { markInvalid, showError } from "./error-panel.js";
import { describeError, describeJobError, ERROR_SENTENCES, type ShownError } from "./errors.js";
import { accessToken, errorElement } from "./form.js";
import type { CallHistory, HistoryEntry } from "./history.js";
import { renderHistory } from "./history-list.js";
import type { PendingJob, PendingJobStore } from "./pending-job.js";
import { renderResults } from "./results.js";
import type { PageState } from "./state.js";
import { setBusy, setStatus } from "./status.js";

/** What following a job needs beyond the page's state. */
export interface JobSession {
  client: ApolloClient;
  history: CallHistory;
  pending: PendingJobStore;
}

/** How often the job is asked for when the WebSocket cannot be used (a proxy that refuses upgrades). */
const POLL_MS = 2_000;

/** Starts the busy state and its seconds counter, counted from `since` (epoch ms). */
function startRunning(state: PageState, since: number): AbortController {
  const controller = new AbortController();
  const tick = (): void => {
    ui.elapsed.textContent = `${Math.max(0, Math.floor((Date.now() - since) / 1000))} s`;
  };
  tick();
  state.running = { controller, timer: window.setInterval(tick, 1000) };
  setBusy(true, state.models.length > 0);
  return controller;
}

function stopRunning(state: PageState): void {
  const running = state.running;
  if (!running) return;
  window.clearInterval(running.timer);
  running.stop?.();
  state.running = undefined;
  ui.elapsed.textContent = "";
  setBusy(false, state.models.length > 0);
}

function showFailure(shown: ShownError): void {
  showError(shown);
  const target = errorElement(shown);
  // The headline sends the reader to Access token, so the keyboard goes there too; other refusals are read first.
  if (target) markInvalid(target, shown.code === "UNAUTHENTICATED");
}

function record(session: JobSession, entry: HistoryEntry): void {
  session.history.add(entry);
  renderHistory(session.history);
}

/** The job's state in the status line, while it is not finished. */
function showProgress(job: Job, pending: PendingJob): void {
  if (job.status === "QUEUED") {
    const ahead = job.queuePosition === null || job.queuePosition === undefined ? "" : job.queuePosition === 0 ? ", next in line" : `, ${job.queuePosition} ahead`;
    setStatus(`Queued for ${pending.modelName}${ahead}. This can take a minute; the page can be reloaded meanwhile.`, true);
  } else if (job.status === "RUNNING") {
    setStatus(`Generating with ${pending.modelName}. This can take a minute.`, true);
  }
}

/** The job ended: its images, or why not; the history gets it and the page forgets it was pending. */
function finish(state: PageState, session: JobSession, pending: PendingJob, job: Job | undefined, failure?: ShownError): void {
  const entry: HistoryEntry = { id: pending.id, at: pending.at, model: pending.model, prompt: pending.prompt, status: "success", thumbnails: [] };
  if (job?.status === "SUCCEEDED" && job.result) {
    const payload = job.result;
    renderResults(payload, pending.prompt);
    Object.assign(entry, { thumbnails: payload.images.map((image) => image.url), seed: payload.seed, totalMs: payload.timings.totalMs });
    setStatus(`Done: ${payload.images.length} image${payload.images.length === 1 ? "" : "s"} in ${(payload.timings.totalMs / 1000).toFixed(1)} s.`, false);
  } else if (job?.status === "CANCELLED") {
    entry.status = "cancelled";
    setStatus("Cancelled.", false);
    showError({ code: "CANCELLED", headline: ERROR_SENTENCES.JOB_CANCELLED });
  } else {
    const shown = failure ?? (job?.error ? describeJobError(job.error, pending) : { code: "INTERNAL_SERVER_ERROR", headline: ERROR_SENTENCES.INTERNAL_SERVER_ERROR });
    entry.status = "failed";
    entry.code = shown.code;
    setStatus("The generation failed.", false);
    showFailure(shown);
  }
  session.pending.clear();
  stopRunning(state);
  record(session, entry);
}

const isFinal = (job: Job): boolean => job.status === "SUCCEEDED" || job.status === "FAILED" || job.status === "CANCELLED";

/** Asks for the job until it ends: what follows a job when its subscription cannot. */
function poll(state: PageState, session: JobSession, pending: PendingJob): void {
  let timer: number | undefined;
  let stopped = false;
  const ask = async (): Promise<void> => {
    try {
      const job = await fetchJob(session.client, pending.id);
      if (stopped) return;
      if (!job) return finish(state, session, pending, undefined, { code: "JOB_NOT_FOUND", headline: ERROR_SENTENCES.JOB_NOT_FOUND });
      if (isFinal(job)) return finish(state, session, pending, job);
      showProgress(job, pending);
    } catch (error) {
      if (stopped) return;
      // A refusal (the token, say) will not pass on a retry; a network failure may.
      if (CombinedGraphQLErrors.is(error)) return finish(state, session, pending, undefined, describeError(error, pending));
    }
    timer = window.setTimeout(() => void ask(), POLL_MS);
  };
  if (state.running) {
    state.running.stop = () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }
  void ask();
}

/** Follows the job live over the subscription, from `first` (what submission answered) when given. */
function follow(state: PageState, session: JobSession, pending: PendingJob, first?: Job): void {
  if (state.running) state.running.jobId = pending.id;
  if (first) showProgress(first, pending);
  const stop = watchJob(session.client, pending.id, {
    next: (job) => {
      if (isFinal(job)) finish(state, session, pending, job);
      else showProgress(job, pending);
    },
    error: (error) => {
      if (CombinedGraphQLErrors.is(error)) {
        finish(state, session, pending, undefined, describeError(error, pending));
        return;
      }
      // The WebSocket could not be opened or was lost: the job runs on regardless; ask for it instead.
      stop();
      poll(state, session, pending);
    },
    complete: () => undefined,
  });
  if (state.running) state.running.stop = stop;
}

/** Submits one checked input as a job, then shows it queued, running and done, live. */
export async function generate(state: PageState, session: JobSession, model: ImageModel, input: GenerateImagesInput): Promise<void> {
  const pendingFacts = { fileNames: state.picked.map((image) => image.file.name), tokenSent: accessToken() !== "" };
  const at = new Date();
  const controller = startRunning(state, at.getTime());
  setStatus(`Sending to ${model.displayName}. This can take a minute.`, true);
  let job: Job;
  try {
    job = await submitGeneration(session.client, input, controller.signal);
  } catch (error) {
    const shown = controller.signal.aborted ? { code: "CANCELLED", headline: ERROR_SENTENCES.CANCELLED } : describeError(error, pendingFacts);
    const cancelled = shown.code === "CANCELLED";
    // Not crypto.randomUUID(): it exists only in secure contexts, and the gateway is often reached over plain http.
    const entry: HistoryEntry = {
      id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
      at: at.toISOString(),
      model: model.id,
      prompt: input.prompt,
      status: cancelled ? "cancelled" : "failed",
      thumbnails: [],
      ...(cancelled ? {} : { code: shown.code }),
    };
    setStatus(cancelled ? "Cancelled." : "The call failed.", false);
    stopRunning(state);
    showFailure(shown);
    record(session, entry);
    return;
  }
  const pending: PendingJob = { id: job.id, at: at.toISOString(), model: model.id, modelName: model.displayName, prompt: input.prompt, ...pendingFacts };
  session.pending.write(pending);
  if (isFinal(job)) finish(state, session, pending, job);
  else follow(state, session, pending, job);
}

/** After a reload: the job this browser submitted and did not see finish is followed again. */
export function resumePendingJob(state: PageState, session: JobSession): void {
  const pending = session.pending.read();
  if (!pending || state.running) return;
  startRunning(state, Date.parse(pending.at));
  setStatus(`Picking up the ${pending.modelName} job submitted before the reload.`, true);
  follow(state, session, pending);
}

/**
 * Cancel: a job still queued is cancelled at the gateway (nothing is billed); one already running cannot
 * be, and the gateway's reason is shown while the page goes on following it. Before the job exists, the
 * submission itself is abandoned.
 */
export async function cancelGeneration(state: PageState, session: JobSession): Promise<void> {
  const running = state.running;
  if (!running) return;
  if (running.jobId === undefined) {
    running.controller.abort();
    return;
  }
  try {
    await cancelJob(session.client, running.jobId);
  } catch (error) {
    showError(describeError(error));
  }
}
